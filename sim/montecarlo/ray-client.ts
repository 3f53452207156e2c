/**
 * The same job on a Ray Serve cluster (deploy/ray/): `POST <url>/simulate`
 * with the job, the result in the same shape. Timeouts and 5xx are retried
 * with backoff; a method the cluster does not run, a malformed answer, or a
 * cluster still failing after the retries falls back to the local pool. The
 * cluster computes every figure; a job's `outputs` are applied to its answer.
 */
import { InvalidJobError, parseJob, SimulationCancelledError, SimulationFailedError, type RunOptions, type SimPool } from './sim-pool.js';
import { SimulationResult, type SimulationJob, type SimulationJobInput } from './simulation-spec.js';

/** Runs simulation jobs: the local pool, or Ray with the pool behind it. */
export interface Simulator {
  run(job: SimulationJobInput | SimulationJob, options?: RunOptions): Promise<SimulationResult>;
}

export interface RaySimulatorOptions {
  /** Base URL of the Serve application, e.g. `http://ray-head:8000`. */
  readonly url: string;
  /** Runs the job when Ray cannot; without it, Ray's failure is the caller's. */
  readonly fallback?: SimPool;
  /**
   * Time allowed for one request.
   * @default 120000
   */
  readonly timeoutMs?: number;
  /**
   * Further attempts after a timeout, a network error or a 5xx.
   * @default 2
   */
  readonly retries?: number;
  /**
   * First backoff between attempts, doubled each time.
   * @default 500
   */
  readonly backoffMs?: number;
  /** Told why a job went to the fallback. */
  readonly onFallback?: (reason: string) => void;
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch;
}

/** Why one attempt failed, and whether another may help. */
class AttemptError extends Error {
  readonly retry: boolean;
  constructor(message: string, retry: boolean) {
    super(message);
    this.retry = retry;
  }
}

export class RaySimulator implements Simulator {
  readonly #o: Required<Omit<RaySimulatorOptions, 'fallback' | 'onFallback'>> & Pick<RaySimulatorOptions, 'fallback' | 'onFallback'>;

  constructor(options: RaySimulatorOptions) {
    this.#o = { timeoutMs: 120_000, retries: 2, backoffMs: 500, fetch: globalThis.fetch, ...options, url: options.url.replace(/\/+$/, '') };
  }

  async run(input: SimulationJobInput | SimulationJob, options: RunOptions = {}): Promise<SimulationResult> {
    const job = parseJob(input); // a bad job is refused here, never sent
    let reason = '';
    for (let attempt = 0; attempt <= this.#o.retries; attempt++) {
      if (options.signal?.aborted) throw new SimulationCancelledError();
      try {
        const result = await this.#attempt(job, options.signal);
        options.onProgress?.(result.paths, result.paths);
        return result;
      } catch (err) {
        if (err instanceof InvalidJobError || err instanceof SimulationCancelledError) throw err;
        reason = (err as Error).message;
        if (!(err instanceof AttemptError) || !err.retry) break;
        if (attempt < this.#o.retries) await sleep(this.#o.backoffMs * 2 ** attempt, options.signal);
      }
    }
    if (this.#o.fallback === undefined) throw new SimulationFailedError(`Ray Serve at ${this.#o.url}: ${reason}`);
    this.#o.onFallback?.(reason);
    return this.#o.fallback.run(job, options);
  }

  async #attempt(job: SimulationJob, signal: AbortSignal | undefined): Promise<SimulationResult> {
    const timeout = AbortSignal.timeout(this.#o.timeoutMs);
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    let res: Response;
    try {
      res = await this.#o.fetch(`${this.#o.url}/simulate`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(forRay(job)),
        signal: combined,
      });
    } catch (err) {
      if (signal?.aborted) throw new SimulationCancelledError();
      if (timeout.aborted) throw new AttemptError(`no answer within ${this.#o.timeoutMs} ms`, true);
      throw new AttemptError(`cannot reach it (${(err as Error).message})`, true);
    }
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      throw new AttemptError(`HTTP ${res.status} with a body that is not JSON`, res.status >= 500);
    }
    if (res.status >= 500) throw new AttemptError(`HTTP ${res.status}: ${errorText(body)}`, true);
    if (res.status === 400) {
      const code = (body as { error?: { code?: string } }).error?.code;
      if (code === 'INVALID_JOB') throw new InvalidJobError(`Ray Serve refused the job: ${errorText(body)}`);
      throw new AttemptError(`HTTP 400: ${errorText(body)}`, false);
    }
    if (res.status !== 200) throw new AttemptError(`HTTP ${res.status}: ${errorText(body)}`, false);
    const parsed = SimulationResult.safeParse(body);
    if (!parsed.success)
      throw new AttemptError(`malformed result (${parsed.error.issues[0]?.path.join('.')}: ${parsed.error.issues[0]?.message})`, false);
    return onlyAsked(parsed.data, job);
  }
}

/**
 * The job as the Serve application's contract takes it: without `outputs`
 * (it computes every figure), the figures left out turned off where the job
 * has a switch for them (the ruin account, the fan).
 */
function forRay(job: SimulationJob): Omit<SimulationJob, 'outputs'> {
  const { outputs, ...rest } = job;
  if (outputs === undefined) return rest;
  return { ...rest, ruin: rest.ruin && outputs.includes('riskOfRuin'), fanPaths: outputs.includes('fan') ? rest.fanPaths : 0 };
}

/** Ray's full result with the figures the job did not ask for nulled, as the pool answers it. */
function onlyAsked(r: SimulationResult, job: SimulationJob): SimulationResult {
  const asked = job.outputs;
  if (asked === undefined) return r;
  return {
    ...r,
    daysToPass: asked.includes('daysToPass') ? r.daysToPass : null,
    maxDrawdown: asked.includes('maxDrawdown') ? r.maxDrawdown : null,
    drawdownHistogram: asked.includes('maxDrawdown') ? r.drawdownHistogram : null,
    finalPnl: asked.includes('finalPnl') ? r.finalPnl : null,
  };
}

function errorText(body: unknown): string {
  const e = (body as { error?: { code?: string; message?: string } }).error;
  return e === undefined ? JSON.stringify(body).slice(0, 200) : `${e.code ?? 'ERROR'}: ${e.message ?? ''}`;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
