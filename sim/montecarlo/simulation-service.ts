/**
 * Simulation jobs as a service: a request (a live assessment, or a tier and
 * uploaded trades) becomes a job on the simulator, kept in a store, and its
 * completion is published as `montecarlo.simulation-completed`. It knows no
 * transport: the gateway's HTTP routes call it.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { AssessmentState, Tier } from '../../actors/index.js';
import { compilePhases } from './compile-tier.js';
import type { Simulator } from './ray-client.js';
import { InvalidJobError } from './sim-pool.js';
import { Method, ParametricModel, type SimulationJobInput } from './simulation-spec.js';
import type { SimulationRecord, SimulationStore } from './simulation-store.js';
import { historyOf, historyOfAssessment, InvalidHistoryError, startStateOf, TradeRecord, type History } from './trade-history.js';

/** A refused request; `status` is the HTTP status the gateway answers with. */
export class SimulationRequestError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'SimulationRequestError';
    this.code = code;
    this.status = status;
  }
}

/** Who asks. */
export interface Asker {
  readonly traderId: string;
  readonly operator: boolean;
}

export interface SimulationServiceOptions {
  readonly simulator: Simulator;
  readonly store: SimulationStore;
  readonly tiers: () => readonly Tier[];
  /** A live assessment's state, or undefined when there is none. */
  readonly assessment: (id: string) => Promise<AssessmentState | undefined>;
  /** Engine time (ms). */
  readonly clock: () => number;
  /** Publishes `montecarlo.simulation-completed`. @default none */
  readonly publish?: (subject: 'montecarlo.simulation-completed', payload: object) => Promise<void>;
  /** @default 1_000_000 */
  readonly maxPaths?: number;
  /** Jobs one trader may have running at once. @default 2 */
  readonly maxRunningPerTrader?: number;
  /** A job still running after this is cancelled. @default 600_000 */
  readonly maxRuntimeMs?: number;
  /** Told when a publish or store write fails after the job ran. */
  readonly onError?: (err: unknown, what: string) => void;
}

/** The body of `POST /v1/simulations`. */
export const SimulationRequest = z
  .object({
    /** Simulate this assessment from where it stands; its own daily results are the history unless trades are given. */
    assessmentId: z.string().min(1).max(128).optional(),
    /** With uploaded trades: the tier to judge them by. */
    tierId: z.string().min(1).max(64).optional(),
    trades: z.array(TradeRecord).min(1).max(100_000).optional(),
    accountSize: z.number().positive().optional(),
    paths: z.number().int().min(100).default(20_000),
    method: Method.default('block'),
    blockLength: z.number().min(1).optional(),
    sizing: z.enum(['fixed', 'compound']).default('fixed'),
    model: ParametricModel.optional(),
    seed: z.string().min(1).max(200).optional(),
    horizonDays: z.number().positive().max(3650).optional(),
    horizonTrades: z.number().int().positive().max(100_000).optional(),
  })
  .strict()
  .refine(
    (r) => r.assessmentId !== undefined || (r.tierId !== undefined && (r.trades !== undefined || r.method === 'parametric')),
    'send assessmentId, or tierId with trades (or a parametric model)',
  );
export type SimulationRequest = z.input<typeof SimulationRequest>;

/** The defaults of {@link SimulationServiceOptions}, and the least history a bootstrap is run on (read by the API documents' tests too). */
export const SIMULATION_DEFAULTS = { maxPaths: 1_000_000, maxRunningPerTrader: 2, maxRuntimeMs: 600_000, minHistory: 5 } as const;
const MIN_HISTORY = SIMULATION_DEFAULTS.minHistory;

/** A listing's `limit`: rounded down by the route, then clamped to `min..max`; `default` when absent or not a number. */
export const SIMULATION_LIST_LIMIT = { name: 'limit', min: 1, max: 200, default: 50 } as const;

export class SimulationService {
  readonly #o: SimulationServiceOptions;
  readonly #running = new Map<string, { traderId: string; abort: AbortController }>();

  constructor(options: SimulationServiceOptions) {
    this.#o = options;
  }

  /** Fail the jobs an earlier process left running. */
  async recover(): Promise<number> {
    const now = this.#o.clock();
    return this.#o.store.failInterrupted(now - (this.#o.maxRuntimeMs ?? SIMULATION_DEFAULTS.maxRuntimeMs), now);
  }

  /** Validate a request, start its job, and return the record (status `running`). */
  async start(asker: Asker, body: unknown): Promise<SimulationRecord> {
    const parsed = SimulationRequest.safeParse(body);
    if (!parsed.success)
      throw new SimulationRequestError(
        400,
        'INVALID_SIMULATION_REQUEST',
        parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; '),
      );
    const req = parsed.data;
    const maxPaths = this.#o.maxPaths ?? SIMULATION_DEFAULTS.maxPaths;
    if (req.paths > maxPaths)
      throw new SimulationRequestError(400, 'INVALID_SIMULATION_REQUEST', `paths: at most ${maxPaths.toLocaleString('en-US')}`);
    const running = [...this.#running.values()].filter((r) => r.traderId === asker.traderId).length;
    if (running >= (this.#o.maxRunningPerTrader ?? SIMULATION_DEFAULTS.maxRunningPerTrader))
      throw new SimulationRequestError(429, 'TOO_MANY_SIMULATIONS', `${running} simulations already running; wait for one to finish`);

    const id = randomUUID();
    const { job, tier, assessmentId } = await this.#job(asker, req, id);
    const record: SimulationRecord = {
      id,
      traderId: asker.traderId,
      assessmentId,
      tierId: tier.id,
      status: 'running',
      request: { ...req, trades: req.trades?.length, seed: job.seed },
      result: null,
      error: null,
      createdAt: this.#o.clock(),
      completedAt: null,
    };
    await this.#o.store.insert(record);
    const abort = new AbortController();
    this.#running.set(id, { traderId: asker.traderId, abort });
    const timer = setTimeout(() => abort.abort(), this.#o.maxRuntimeMs ?? SIMULATION_DEFAULTS.maxRuntimeMs);
    timer.unref();
    void this.#run(record, job, abort.signal).finally(() => {
      clearTimeout(timer);
      this.#running.delete(id);
    });
    return record;
  }

  /** A job the asker may see. */
  async get(asker: Asker, id: string): Promise<SimulationRecord> {
    const r = await this.#o.store.get(id);
    if (r === undefined || (r.traderId !== asker.traderId && !asker.operator))
      throw new SimulationRequestError(404, 'UNKNOWN_SIMULATION', `simulation '${id}' does not exist or is not yours`);
    return r;
  }

  /** The asker's jobs, newest first (operators: everyone's). */
  async list(asker: Asker, limit: number = SIMULATION_LIST_LIMIT.default): Promise<SimulationRecord[]> {
    return this.#o.store.list(
      asker.operator ? undefined : asker.traderId,
      Math.min(SIMULATION_LIST_LIMIT.max, Math.max(SIMULATION_LIST_LIMIT.min, limit)),
    );
  }

  /** Cancel every running job (shutdown). */
  close(): void {
    for (const r of this.#running.values()) r.abort.abort();
  }

  async #job(
    asker: Asker,
    req: z.infer<typeof SimulationRequest>,
    id: string,
  ): Promise<{ job: SimulationJobInput; tier: Tier; assessmentId: string | null }> {
    let tier: Tier | undefined;
    let history: History | undefined;
    let state: AssessmentState | undefined;
    if (req.assessmentId !== undefined) {
      state = await this.#o.assessment(req.assessmentId);
      if (state === undefined || (state.traderId !== asker.traderId && !asker.operator))
        throw new SimulationRequestError(404, 'FORBIDDEN_ASSESSMENT', `assessment '${req.assessmentId}' does not exist or is not yours`);
      if (state.status !== 'active' && state.status !== 'paused')
        throw new SimulationRequestError(
          409,
          'ASSESSMENT_NOT_ACTIVE',
          `assessment '${req.assessmentId}' is ${state.status}: nothing left to simulate`,
        );
      tier = this.#o.tiers().find((t) => t.id === state!.tierId && t.version === state!.tierVersion);
    } else tier = this.#o.tiers().find((t) => t.id === req.tierId);
    if (tier === undefined) throw new SimulationRequestError(400, 'UNKNOWN_TIER', `unknown tier '${req.tierId ?? state?.tierId}'`);
    try {
      if (req.trades !== undefined)
        history = historyOf(req.trades, tier, req.accountSize ?? tier.phases[state?.phaseIndex ?? 0]!.startingBalance);
      else if (state !== undefined && req.method !== 'parametric') history = historyOfAssessment(state);
    } catch (err) {
      if (err instanceof InvalidHistoryError) throw new SimulationRequestError(400, err.code, err.message);
      throw err;
    }
    if (history !== undefined && history.returns.length < MIN_HISTORY) {
      throw new SimulationRequestError(
        422,
        'NOT_ENOUGH_HISTORY',
        `${history.returns.length} results to resample; at least ${MIN_HISTORY} are needed (upload trades with the request)`,
      );
    }
    if (req.method === 'parametric' && req.model === undefined)
      throw new SimulationRequestError(400, 'INVALID_SIMULATION_REQUEST', "model: method 'parametric' needs a model");
    const phases = compilePhases(tier);
    const from = state === undefined ? undefined : startStateOf(state, this.#o.clock());
    const historyDays = history?.days ?? 30;
    const first = from?.phaseIndex ?? 0;
    // Days per remaining phase: what is left of its time limit, or (without one) the history's span from now.
    const days = phases
      .slice(first)
      .filter((p) => p.target !== null)
      .map((p, i) => Math.max(1, (p.maxDays ?? historyDays) - (i === 0 && p.maxDays !== null ? (from?.daysElapsed ?? 0) : 0)))
      .reduce((a, b) => a + b, 0);
    const job: SimulationJobInput = {
      seed: req.seed ?? id,
      paths: req.paths,
      method: req.method,
      sizing: req.sizing,
      blockLength: req.blockLength,
      returns: history?.returns ?? [],
      tradesPerDay: history?.tradesPerDay ?? [1],
      model: req.model,
      horizon: { trades: req.horizonTrades, days: req.horizonDays ?? (req.horizonTrades === undefined ? Math.max(1, days) : undefined) },
      phases,
      from,
      fanPaths: 200,
    };
    return { job, tier, assessmentId: req.assessmentId ?? null };
  }

  async #run(record: SimulationRecord, job: SimulationJobInput, signal: AbortSignal): Promise<void> {
    let status: 'completed' | 'failed' | 'cancelled' = 'completed';
    let result: SimulationRecord['result'] = null;
    let error: SimulationRecord['error'] = null;
    try {
      result = await this.#o.simulator.run(job, { signal });
    } catch (err) {
      const e = err as { code?: string; message?: string };
      status = e.code === 'CANCELLED' ? 'cancelled' : 'failed';
      error = { code: err instanceof InvalidJobError ? 'INVALID_JOB' : (e.code ?? 'SIMULATION_FAILED'), message: e.message ?? String(err) };
    }
    const at = this.#o.clock();
    try {
      await this.#o.store.finish(record.id, status, result, error, at);
    } catch (err) {
      this.#o.onError?.(err, `store the end of simulation ${record.id}`);
    }
    if (status !== 'completed' || result === null || this.#o.publish === undefined) return;
    try {
      await this.#o.publish('montecarlo.simulation-completed', {
        simulationId: record.id,
        traderId: record.traderId,
        assessmentId: record.assessmentId,
        tierId: record.tierId,
        paths: result.paths,
        method: result.method,
        seed: result.seed,
        pass: result.pass,
        breakdown: Object.fromEntries(Object.entries(result.breakdown).map(([k, v]) => [k, v.p])),
        engine: result.engine,
        completedAt: at,
      });
    } catch (err) {
      this.#o.onError?.(err, `publish the completion of simulation ${record.id}`);
    }
  }
}
