/**
 * Reports as a service: made when an assessment passes, fails, expires, is
 * abandoned or passes a phase (the history projector says which events are
 * new), and on request; stored; announced as `report.ready` on the bus and
 * to the trader's WebSocket. Jobs run one at a time, so a burst of verdicts
 * queues instead of competing with the engine for the cores.
 */
import type { Tier } from '../../actors/index.js';
import type { HistoryEvent, PgHistoryReader, PgReportStore, ReportHeader, ReportKind } from '../../persistence/index.js';
import type { Simulator } from '../montecarlo/ray-client.js';
import { buildReport, REPORT_TRADES, type AssessmentReport } from './assessment-report.js';
import type { ReplaySource } from './compliance.js';
import { passProbabilityByDay, type DayEstimate } from './risk.js';

/** Event types that make a report, and which kind. */
export const REPORT_TRIGGERS: Readonly<Record<string, ReportKind>> = Object.freeze({
  'assessment.passed': 'final',
  'assessment.failed': 'final',
  'assessment.expired': 'final',
  'assessment.abandoned': 'final',
  'assessment.phase-passed': 'phase',
});

/** The `report.ready` announcement (bus payload; the WebSocket frame adds `t: 'report'`). */
export interface ReportReady {
  readonly reportId: number;
  readonly assessmentId: string;
  readonly traderId: string | null;
  readonly kind: ReportKind;
  readonly trigger: string;
  readonly status: string | null;
  /** Engine time the report describes. */
  readonly asOf: number;
  /** When it was stored, epoch ms (wall clock). */
  readonly createdAt: number;
}

export interface ReportServiceOptions {
  readonly reader: PgHistoryReader;
  readonly store: PgReportStore;
  readonly tiers: () => readonly Tier[];
  /** How a dispute desk replays the assessment. */
  readonly replay: (assessmentId: string) => ReplaySource;
  /** Runs the pass probability by day; without one, reports say none was estimated. @default none */
  readonly simulator?: Simulator;
  /** Publishes `report.ready` on the bus. @default none */
  readonly publish?: (subject: 'report.ready', payload: ReportReady) => Promise<void>;
  /** Pushes `report.ready` to the assessment's subscribers. @default none */
  readonly push?: (ready: ReportReady) => void;
  /** Told of a report that could not be made, published or pushed. @default none */
  readonly onError?: (err: unknown, what: string) => void;
  /** Paths per day of the pass probability. @default 2_000 */
  readonly passPaths?: number;
  /** Days estimated at most. @default 60 */
  readonly maxEstimates?: number;
  /** Points of the report's equity series. @default 400 */
  readonly equityPoints?: number;
  /** Reports waiting at most; more triggers are dropped and counted. @default 10_000 */
  readonly maxQueued?: number;
  /** With this many reports waiting, a triggered report skips the pass probability by day. @default 4 */
  readonly busyQueue?: number;
}

export class ReportService {
  readonly #o: ReportServiceOptions;
  readonly #queue = new Map<string, { trigger: string; kind: ReportKind }>();
  #running: Promise<void> | undefined;
  readonly #abort = new AbortController();
  #made = 0;
  #dropped = 0;

  constructor(options: ReportServiceOptions) {
    this.#o = options;
  }

  /** Reports made so far. */
  get made(): number {
    return this.#made;
  }
  /** Triggers dropped (the queue was full). */
  get dropped(): number {
    return this.#dropped;
  }

  /** New history events: queue a report for each verdict or phase pass among them. */
  onIngested(fresh: readonly HistoryEvent[]): void {
    for (const e of fresh) {
      const kind = REPORT_TRIGGERS[e.type];
      if (kind === undefined) continue;
      if (!this.#queue.has(e.assessmentId) && this.#queue.size >= (this.#o.maxQueued ?? 10_000)) {
        this.#dropped++;
        continue;
      }
      this.#queue.set(e.assessmentId, { trigger: e.type, kind });
    }
    if (this.#queue.size > 0) this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /** Resolves once every queued report is made. */
  async idle(): Promise<void> {
    while (this.#running !== undefined) await this.#running;
  }

  /** Stop: queued reports are dropped, a running one is cut short. */
  close(): void {
    this.#queue.clear();
    this.#abort.abort();
  }

  /**
   * Make, store and announce a report of `assessmentId` now. Resolves with
   * its header, or undefined when the history has no event of it.
   */
  async generate(
    assessmentId: string,
    trigger: string,
    kind: ReportKind,
    options: { passProbability?: boolean } = {},
  ): Promise<ReportHeader | undefined> {
    const report = await this.build(assessmentId, trigger, options);
    if (report === undefined) return undefined;
    const stored = await this.#o.store.insert({
      assessmentId,
      traderId: report.traderId,
      kind,
      trigger,
      status: report.summary.status,
      body: report,
    });
    this.#made++;
    const ready: ReportReady = {
      reportId: stored.id,
      assessmentId,
      traderId: stored.traderId,
      kind,
      trigger,
      status: stored.status,
      asOf: report.asOf,
      createdAt: stored.createdAt,
    };
    try {
      this.#o.push?.(ready);
    } catch (err) {
      this.#o.onError?.(err, `push report.ready of ${assessmentId}`);
    }
    if (this.#o.publish !== undefined) {
      await this.#o
        .publish('report.ready', ready)
        .catch((err: unknown) => this.#o.onError?.(err, `publish report.ready of ${assessmentId}`));
    }
    return stored;
  }

  /** The report of an assessment as its history stands (not stored); undefined without history. */
  async build(assessmentId: string, trigger: string, options: { passProbability?: boolean } = {}): Promise<AssessmentReport | undefined> {
    const r = this.#o.reader;
    const assessment = await r.assessment(assessmentId);
    if (assessment === undefined || assessment.events === 0) return undefined;
    const [trades, lastTrades, days, points, transitions, violations] = await Promise.all([
      r.tradeFigures(assessmentId),
      r.lastTrades(assessmentId, REPORT_TRADES),
      r.allDays(assessmentId),
      r.points(assessmentId),
      r.transitions(assessmentId),
      r.violations(assessmentId),
    ]);
    const equity = await r.equity(assessmentId, { maxPoints: this.#o.equityPoints ?? 400, points });
    const tier = this.#o.tiers().find((t) => t.id === assessment.tierId && t.version === assessment.tierVersion);
    let pass: DayEstimate[] = [];
    if ((options.passProbability ?? true) && this.#o.simulator !== undefined && tier !== undefined) {
      try {
        pass = await passProbabilityByDay({
          assessmentId,
          tier,
          days,
          simulator: this.#o.simulator,
          paths: this.#o.passPaths ?? 2_000,
          maxEstimates: this.#o.maxEstimates ?? 60,
          signal: this.#abort.signal,
        });
      } catch (err) {
        this.#o.onError?.(err, `estimate the pass probability of ${assessmentId}`);
      }
    }
    const asOf = assessment.endedAt ?? Math.max(points.at(-1)?.at ?? 0, equity.to);
    return buildReport({
      assessment,
      tier,
      trades,
      lastTrades,
      days,
      points,
      transitions,
      violations,
      equity,
      passProbability: pass,
      replay: this.#o.replay(assessmentId),
      trigger,
      asOf,
    });
  }

  async #drain(): Promise<void> {
    while (this.#queue.size > 0 && !this.#abort.signal.aborted) {
      const [id, job] = this.#queue.entries().next().value as [string, { trigger: string; kind: ReportKind }];
      this.#queue.delete(id);
      try {
        // A burst of verdicts (a market crash) skips the Monte Carlo part, so the queue drains and the pool stays free for live estimates.
        await this.generate(id, job.trigger, job.kind, { passProbability: this.#queue.size < (this.#o.busyQueue ?? 4) });
      } catch (err) {
        this.#o.onError?.(err, `make the ${job.kind} report of ${id}`);
      }
    }
  }
}
