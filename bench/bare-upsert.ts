/**
 * The snapshots bench's baseline: a bare batched upsert of assessment states
 * (the store's encoding, the same COPY into a temporary table, an upsert
 * with no dedupe and no version or epoch guard), on the calling thread or on
 * a thread of its own. On its own thread the states live there: the main
 * thread keeps no actor state while checkpoints are measured, as a node's
 * main thread keeps none (the shard workers hold them), so its heap, and the
 * GC pauses the loop-stall figure counts, are a node's and not the bench's.
 */
import { performance } from 'node:perf_hooks';
import type { Worker } from 'node:worker_threads';
import type postgres from 'postgres';
import type { AssessmentState } from '../actors/index.js';
import { spawnWorker } from '../engine/index.js';
import { copySnapshots, encodeJson } from '../persistence/index.js';

/** Upsert every state at `version` into `table` (a copy of `snapshots`); resolves with the seconds it took. */
export async function bareUpsert(sql: postgres.Sql, states: readonly AssessmentState[], version: number, table: string): Promise<number> {
  const t0 = performance.now();
  const c = {
    ids: [] as string[],
    versions: [] as string[],
    epochs: [] as string[],
    ticks: [] as string[],
    positions: [] as string[],
    states: [] as string[],
  };
  for (const r of states) {
    c.ids.push(r.id);
    c.versions.push(String(version));
    c.epochs.push('1');
    c.ticks.push('3');
    c.positions.push('0');
    c.states.push(encodeJson(r));
  }
  await copySnapshots(sql, c, { table, guarded: false });
  return (performance.now() - t0) / 1000;
}

/** What {@link BareUpsertThread} hands its thread. */
export interface BareUpsertThreadData {
  readonly url: string;
  readonly table: string;
  readonly states: readonly AssessmentState[];
}

/** {@link bareUpsert} on a worker thread that holds the states (cloned to it once). */
export class BareUpsertThread {
  readonly #worker: Worker;
  #pending: ((seconds: number) => void) | undefined;
  #failed: ((err: Error) => void) | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.on('message', (m: { seconds?: number; error?: string }) => {
      if (m.error !== undefined) this.#failed?.(new Error(m.error));
      else this.#pending?.(m.seconds!);
    });
    worker.on('error', (err) => this.#failed?.(err));
  }

  /** Start the thread; resolves once it is connected and ready. */
  static async start(data: BareUpsertThreadData): Promise<BareUpsertThread> {
    const worker = spawnWorker(new URL('./bare-upsert-worker.ts', import.meta.url), { workerData: { ...data } });
    const t = new BareUpsertThread(worker);
    await t.#call({ ready: true });
    return t;
  }

  /** One upsert at `version`; resolves with the seconds it took (timed on its thread). */
  run(version: number): Promise<number> {
    return this.#call({ version });
  }

  #call(msg: { ready: true } | { version: number }): Promise<number> {
    return new Promise<number>((resolve, reject) => {
      this.#pending = resolve;
      this.#failed = reject;
      this.#worker.postMessage(msg);
    });
  }

  async stop(): Promise<void> {
    await this.#call({ version: -1 }).catch(() => undefined);
    await this.#worker.terminate();
  }
}
