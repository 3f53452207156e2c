/**
 * Live pass probability: every interval, each watched assessment is
 * re-simulated from where it stands, in the background pool (its own worker
 * threads, one small job at a time, so the shards' tick path never waits on
 * it), and the estimate is pushed to its subscribers. The seed comes from the
 * assessment's state, so the same state always gives the same estimate.
 */
import type { AssessmentState, Tier } from '../../actors/index.js';
import { compilePhases } from './compile-tier.js';
import type { Simulator } from './ray-client.js';
import type { Estimate, Outcome } from './simulation-spec.js';
import { historyOfAssessment, startStateOf } from './trade-history.js';

/** What subscribers receive. */
export interface LiveEstimate {
  readonly assessmentId: string;
  /** Engine time the estimate starts from. */
  readonly at: number;
  readonly paths: number;
  readonly pass: Estimate;
  readonly breakdown: Readonly<Record<Outcome, number>>;
  /** Median days to pass from now, when any path passed. */
  readonly medianDaysToPass: number | null;
}

export interface LiveEstimatorOptions {
  readonly simulator: Simulator;
  readonly tiers: () => readonly Tier[];
  /** Assessments someone is watching now. */
  readonly watched: () => Iterable<string>;
  readonly assessment: (id: string) => Promise<AssessmentState | undefined>;
  readonly push: (estimate: LiveEstimate) => void;
  /** Engine time (ms). */
  readonly clock: () => number;
  /** @default 60_000 */
  readonly intervalMs?: number;
  /** Paths per estimate. @default 4096 */
  readonly paths?: number;
  /** Days with results needed before an estimate means anything. @default 3 */
  readonly minHistory?: number;
  readonly onError?: (err: unknown, assessmentId: string) => void;
}

export class LiveEstimator {
  readonly #o: LiveEstimatorOptions;
  #timer: NodeJS.Timeout | undefined;
  #stopped = false;
  /** The state an estimate was last made for, per assessment: unchanged state, no new job. */
  readonly #lastKey = new Map<string, string>();

  constructor(options: LiveEstimatorOptions) {
    this.#o = options;
  }

  start(): void {
    this.#schedule();
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }

  #schedule(): void {
    if (this.#stopped) return;
    this.#timer = setTimeout(() => void this.round().finally(() => this.#schedule()), this.#o.intervalMs ?? 60_000);
    this.#timer.unref();
  }

  /** One pass over the watched assessments (sequential: one job at a time). */
  async round(): Promise<number> {
    let pushed = 0;
    for (const id of [...this.#o.watched()]) {
      if (this.#stopped) break;
      try {
        if (await this.estimate(id)) pushed++;
      } catch (err) {
        this.#o.onError?.(err, id);
      }
    }
    return pushed;
  }

  /** Estimate one assessment and push it; false when there was nothing new to say. */
  async estimate(id: string): Promise<boolean> {
    const state = await this.#o.assessment(id);
    if (state === undefined || state.status !== 'active') return false;
    const history = historyOfAssessment(state);
    if (history.returns.length < (this.#o.minHistory ?? 3)) return false;
    const tier = this.#o.tiers().find((t) => t.id === state.tierId && t.version === state.tierVersion);
    if (tier === undefined) return false;
    const now = this.#o.clock();
    const key = `${state.phaseIndex}/${state.dayIndex}/${state.tradeCount}/${state.balance}/${state.lockedBy ?? ''}`;
    if (this.#lastKey.get(id) === key) return false;
    const phases = compilePhases(tier);
    const from = startStateOf(state, now);
    const days = phases
      .slice(from.phaseIndex)
      .filter((p) => p.target !== null)
      .map((p, i) => Math.max(1, (p.maxDays ?? history.days) - (i === 0 && p.maxDays !== null ? from.daysElapsed : 0)))
      .reduce((a, b) => a + b, 0);
    const paths = this.#o.paths ?? 4096;
    const result = await this.#o.simulator.run({
      seed: `${id}/${key}`,
      paths,
      method: 'block',
      returns: history.returns,
      tradesPerDay: history.tradesPerDay,
      horizon: { days: Math.max(1, days) },
      phases,
      from,
      fanPaths: 0,
      ruin: false,
      // What the estimate pushes: the pass probability, the breakdown and the median days to pass.
      outputs: ['daysToPass'],
    });
    this.#lastKey.set(id, key);
    this.#o.push({
      assessmentId: id,
      at: now,
      paths: result.paths,
      pass: result.pass,
      breakdown: Object.fromEntries(Object.entries(result.breakdown).map(([k, v]) => [k, v.p])) as Record<Outcome, number>,
      medianDaysToPass: result.daysToPass?.p50 ?? null,
    });
    return true;
  }
}
