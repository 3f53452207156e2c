/**
 * The local simulation pool: persistent worker threads that split a job's
 * paths into fixed chunks, report progress as chunks land, and stop when the
 * caller's signal aborts. Chunks are seeded by index, so a result does not
 * depend on how many workers ran it.
 */
import { availableParallelism } from 'node:os';
import type { Worker } from 'node:worker_threads';
import { spawnWorker } from '../../engine/index.js';
import { CHUNK_SIZE, planFor } from './path-kernel.js';
import { SimulationJob, type SimulationJobInput, type SimulationResult } from './simulation-spec.js';
import { summarize, type ChunkSummary } from './summarize.js';

/** Messages from the pool to a worker. */
export type PoolRequest =
  | { readonly type: 'plan'; readonly jobId: number; readonly job: unknown }
  | { readonly type: 'drop'; readonly jobId: number }
  | { readonly type: 'chunk'; readonly jobId: number; readonly chunk: number; readonly first: number; readonly count: number };

/** Messages from a worker to the pool. */
export type PoolReply =
  | { readonly type: 'summary'; readonly jobId: number; readonly chunk: number; readonly summary: ChunkSummary }
  | { readonly type: 'failed'; readonly jobId: number; readonly chunk: number; readonly message: string };

/** A job that did not validate; `message` names every bad field. */
export class InvalidJobError extends Error {
  readonly code = 'INVALID_JOB';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidJobError';
  }
}

/** The job was cancelled by its caller. */
export class SimulationCancelledError extends Error {
  readonly code = 'CANCELLED';
  constructor() {
    super('simulation cancelled');
    this.name = 'SimulationCancelledError';
  }
}

/** A worker failed or the pool was closed under the job. */
export class SimulationFailedError extends Error {
  readonly code = 'SIMULATION_FAILED';
  constructor(message: string) {
    super(message);
    this.name = 'SimulationFailedError';
  }
}

export interface SimPoolOptions {
  /**
   * Worker threads.
   * @default os.availableParallelism()
   */
  readonly workers?: number;
}

export interface RunOptions {
  /** Abort to cancel: the promise rejects with {@link SimulationCancelledError}. */
  readonly signal?: AbortSignal;
  /** Paths judged so far, after each chunk. */
  readonly onProgress?: (done: number, total: number) => void;
}

interface Running {
  readonly id: number;
  readonly total: number;
  readonly summaries: (ChunkSummary | undefined)[];
  pending: number;
  done: number;
  readonly onProgress: ((done: number, total: number) => void) | undefined;
  readonly resolve: (summaries: ChunkSummary[]) => void;
  readonly reject: (err: Error) => void;
}

interface Slot {
  readonly worker: Worker;
  inFlight: number;
}

/** Validate untrusted job data; throws {@link InvalidJobError}. */
export function parseJob(data: unknown): SimulationJob {
  const r = SimulationJob.safeParse(data);
  if (r.success) return r.data;
  throw new InvalidJobError(r.error.issues.map((i) => `${i.path.join('.') || '(job)'}: ${i.message}`).join('; '));
}

export class SimPool {
  readonly size: number;
  readonly #slots: Slot[] = [];
  readonly #queue: { job: Running; chunk: number }[] = [];
  readonly #running = new Map<number, Running>();
  #nextId = 1;
  #closed = false;

  constructor(options: SimPoolOptions = {}) {
    this.size = Math.max(1, options.workers ?? availableParallelism());
    for (let i = 0; i < this.size; i++) {
      // From source under tsx the entry is the .ts file; from a `tsc` build in dist/, the compiled .js.
      const worker = spawnWorker(new URL(import.meta.url.endsWith('.ts') ? './sim-worker.ts' : './sim-worker.js', import.meta.url));
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (m: PoolReply) => this.#onReply(slot, m));
      worker.on('error', (err) => this.#failAll(`simulation worker failed: ${err.message}`));
      worker.unref();
      this.#slots.push(slot);
    }
  }

  /** Run a job on the pool. */
  async run(input: SimulationJobInput | SimulationJob, options: RunOptions = {}): Promise<SimulationResult> {
    if (this.#closed) throw new SimulationFailedError('the simulation pool is closed');
    const job = parseJob(input);
    const started = performance.now();
    // The block length is chosen once here, so every worker uses the same one.
    const plan = planFor(job);
    const fixed: SimulationJob = Number.isNaN(plan.blockLength) ? job : { ...job, blockLength: plan.blockLength };
    const id = this.#nextId++;
    const chunks = Math.ceil(job.paths / CHUNK_SIZE);
    for (const s of this.#slots) s.worker.postMessage({ type: 'plan', jobId: id, job: fixed } satisfies PoolRequest);
    const summaries = await new Promise<ChunkSummary[]>((resolve, reject) => {
      const running: Running = {
        id,
        total: job.paths,
        summaries: new Array(chunks).fill(undefined),
        pending: chunks,
        done: 0,
        onProgress: options.onProgress,
        resolve,
        reject,
      };
      const signal = options.signal;
      if (signal?.aborted) {
        reject(new SimulationCancelledError());
        return;
      }
      signal?.addEventListener('abort', () => this.#finish(running, new SimulationCancelledError()), { once: true });
      this.#running.set(id, running);
      // Idle workers do not hold the process open; running jobs do.
      for (const s of this.#slots) s.worker.ref();
      for (let c = 0; c < chunks; c++) this.#queue.push({ job: running, chunk: c });
      this.#pump();
    }).finally(() => {
      for (const s of this.#slots) s.worker.postMessage({ type: 'drop', jobId: id } satisfies PoolRequest);
    });
    return summarize(summaries, {
      seed: job.seed,
      method: job.method,
      blockLength: plan.blockLength,
      fanSteps: plan.fanSteps,
      trackRuin: plan.trackRuin,
      wants: plan.wants,
      engine: 'local',
      elapsedMs: performance.now() - started,
    });
  }

  /** Stop the workers; jobs in flight fail. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll('the simulation pool closed');
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #pump(): void {
    // Two chunks per worker keep it busy while a reply travels back.
    for (const slot of this.#slots) {
      while (slot.inFlight < 2 && this.#queue.length > 0) {
        const next = this.#queue.shift()!;
        if (!this.#running.has(next.job.id)) continue;
        const first = next.chunk * CHUNK_SIZE;
        const count = Math.min(CHUNK_SIZE, next.job.total - first);
        slot.inFlight++;
        slot.worker.postMessage({ type: 'chunk', jobId: next.job.id, chunk: next.chunk, first, count } satisfies PoolRequest);
      }
    }
  }

  #onReply(slot: Slot, m: PoolReply): void {
    slot.inFlight--;
    const running = this.#running.get(m.jobId);
    if (running !== undefined) {
      if (m.type === 'failed') this.#finish(running, new SimulationFailedError(`chunk ${m.chunk}: ${m.message}`));
      else {
        running.summaries[m.chunk] = m.summary;
        running.pending--;
        running.done += m.summary.paths;
        running.onProgress?.(running.done, running.total);
        if (running.pending === 0) this.#finish(running);
      }
    }
    this.#pump();
  }

  #finish(running: Running, err?: Error): void {
    if (!this.#running.delete(running.id)) return;
    if (this.#running.size === 0) for (const s of this.#slots) s.worker.unref();
    if (err !== undefined) running.reject(err);
    else running.resolve(running.summaries as ChunkSummary[]);
  }

  #failAll(message: string): void {
    for (const r of [...this.#running.values()]) this.#finish(r, new SimulationFailedError(message));
  }
}
