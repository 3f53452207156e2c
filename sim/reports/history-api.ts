/**
 * What the gateway's history and report routes answer (documented in
 * transport/protocol/openapi.json): an assessment's trades, fills, days,
 * equity series, events and reports, for its trader or an operator; reports
 * listed and made again by operators. Every refusal is a
 * {@link HistoryRequestError} with its HTTP status and a code; every page is
 * bounded. It knows no transport: the routes call it.
 */
import type { PgHistoryReader, PgReportStore, ReportHeader, StoredReport } from '../../persistence/index.js';
import type { AssessmentReport } from './assessment-report.js';
import { renderAssessmentReport } from './render-assessment-report.js';
import type { ReportService } from './report-service.js';
import { tradesCsv } from './trades-csv.js';

/** A refused request; `status` is the HTTP status the gateway answers with. */
export class HistoryRequestError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.name = 'HistoryRequestError';
    this.code = code;
    this.status = status;
  }
}

/** Who asks. */
export interface HistoryAsker {
  readonly traderId: string;
  readonly operator: boolean;
}

/** Page sizes: `limit` defaults and bounds per listing. */
export const PAGE_LIMITS = Object.freeze({ default: 100, max: 500, csvMax: 100_000, reports: 200 });
/** Equity points: default and bounds of `points`. */
export const EQUITY_POINTS = Object.freeze({ default: 500, min: 10, max: 2_000 });

export interface HistoryApiOptions {
  readonly reader: PgHistoryReader;
  readonly store: PgReportStore;
  readonly reports: ReportService;
}

export class HistoryApi {
  readonly #o: HistoryApiOptions;
  /** Reports being made on request, per trader: one at a time each. */
  readonly #making = new Set<string>();

  constructor(options: HistoryApiOptions) {
    this.#o = options;
  }

  /** Round trips, in order, after trade number `after`. */
  async trades(asker: HistoryAsker, id: string, query: URLSearchParams): Promise<{ trades: unknown[]; next: string | null }> {
    await this.#owned(asker, id);
    const page = await this.#o.reader.trades(
      id,
      intParam(query, 'after', 0, 0, Number.MAX_SAFE_INTEGER),
      limitParam(query, PAGE_LIMITS.max),
    );
    return { trades: page.items, next: page.next };
  }

  /** Round trips as CSV (up to 100,000 a request; `after` for the next ones). */
  async tradesCsv(asker: HistoryAsker, id: string, query: URLSearchParams): Promise<string> {
    await this.#owned(asker, id);
    const limit = intParam(query, 'limit', PAGE_LIMITS.csvMax, 1, PAGE_LIMITS.csvMax);
    const page = await this.#o.reader.trades(id, intParam(query, 'after', 0, 0, Number.MAX_SAFE_INTEGER), limit);
    return tradesCsv(page.items);
  }

  async fills(asker: HistoryAsker, id: string, query: URLSearchParams): Promise<{ fills: unknown[]; next: string | null }> {
    await this.#owned(asker, id);
    const page = await this.#o.reader.fills(
      id,
      intParam(query, 'after', 0, 0, Number.MAX_SAFE_INTEGER),
      limitParam(query, PAGE_LIMITS.max),
    );
    return { fills: page.items, next: page.next };
  }

  /** Trading days after `phase.day`, in order. */
  async days(asker: HistoryAsker, id: string, query: URLSearchParams): Promise<{ days: unknown[]; next: string | null }> {
    await this.#owned(asker, id);
    const page = await this.#o.reader.days(id, pairParam(query, 'after'), limitParam(query, PAGE_LIMITS.max));
    return { days: page.items, next: page.next };
  }

  /** Events before `input.n`, newest first. */
  async events(asker: HistoryAsker, id: string, query: URLSearchParams): Promise<{ events: unknown[]; next: string | null }> {
    await this.#owned(asker, id);
    const page = await this.#o.reader.events(id, pairParam(query, 'before'), limitParam(query, PAGE_LIMITS.max));
    return { events: page.items, next: page.next };
  }

  /** The equity series: at most `points` buckets over the assessment's life (or `from`..`to`). */
  async equity(asker: HistoryAsker, id: string, query: URLSearchParams): Promise<{ equity: unknown }> {
    await this.#owned(asker, id);
    const maxPoints = intParam(query, 'points', EQUITY_POINTS.default, EQUITY_POINTS.min, EQUITY_POINTS.max);
    const from = optionalInt(query, 'from');
    const to = optionalInt(query, 'to');
    if (from !== undefined && to !== undefined && to < from)
      throw new HistoryRequestError(400, 'INVALID_QUERY', 'to: must not be before from');
    return {
      equity: await this.#o.reader.equity(id, { maxPoints, ...(from === undefined ? {} : { from }), ...(to === undefined ? {} : { to }) }),
    };
  }

  /** The newest stored report. */
  async report(asker: HistoryAsker, id: string): Promise<{ report: StoredReport<AssessmentReport> }> {
    await this.#owned(asker, id);
    const stored = await this.#o.store.latest<AssessmentReport>(id);
    if (stored === undefined)
      throw new HistoryRequestError(
        404,
        'NO_REPORT',
        `assessment '${id}' has no report yet: one is made when it ends or passes a phase, or ask for one with POST`,
      );
    return { report: stored };
  }

  /** The newest stored report as a self-contained HTML page. */
  async reportHtml(asker: HistoryAsker, id: string): Promise<string> {
    const { report } = await this.report(asker, id);
    return renderAssessmentReport(report.body);
  }

  /** Make a report now (one at a time per trader). */
  async requestReport(asker: HistoryAsker, id: string): Promise<{ report: ReportHeader }> {
    await this.#owned(asker, id);
    return { report: await this.#make(asker, id) };
  }

  /** Reports newest first (operators), before report id `before`, of one trader or assessment when asked. */
  async listReports(asker: HistoryAsker, query: URLSearchParams): Promise<{ reports: ReportHeader[]; next: string | null }> {
    if (!asker.operator) throw new HistoryRequestError(403, 'FORBIDDEN', 'operators only');
    const limit = intParam(query, 'limit', 50, 1, PAGE_LIMITS.reports);
    const before = optionalInt(query, 'before');
    const trader = stringParam(query, 'traderId');
    const assessment = stringParam(query, 'assessmentId');
    const reports = await this.#o.store.list({
      limit: limit + 1,
      ...(before === undefined ? {} : { before }),
      ...(trader === undefined ? {} : { traderId: trader }),
      ...(assessment === undefined ? {} : { assessmentId: assessment }),
    });
    const items = reports.slice(0, limit);
    return { reports: items, next: reports.length > limit ? String(items.at(-1)!.id) : null };
  }

  /** Make an assessment's report again (operators). */
  async regenerate(asker: HistoryAsker, id: string): Promise<{ report: ReportHeader }> {
    if (!asker.operator) throw new HistoryRequestError(403, 'FORBIDDEN', 'operators only');
    const a = await this.#o.reader.assessment(id);
    if (a === undefined) throw new HistoryRequestError(404, 'FORBIDDEN_ASSESSMENT', `assessment '${id}' does not exist or is not yours`);
    return { report: await this.#make(asker, id) };
  }

  async #make(asker: HistoryAsker, id: string): Promise<ReportHeader> {
    if (this.#making.has(asker.traderId))
      throw new HistoryRequestError(429, 'REPORT_IN_PROGRESS', 'a report you asked for is still being made; wait for it');
    this.#making.add(asker.traderId);
    try {
      const made = await this.#o.reports.generate(id, 'request', 'request');
      if (made === undefined)
        throw new HistoryRequestError(404, 'FORBIDDEN_ASSESSMENT', `assessment '${id}' does not exist or is not yours`);
      return made;
    } finally {
      this.#making.delete(asker.traderId);
    }
  }

  /** The assessment, when it is the asker's (or the asker is an operator); unknown and foreign read the same. */
  async #owned(asker: HistoryAsker, id: string): Promise<void> {
    const a = await this.#o.reader.assessment(id);
    if (a === undefined || (a.traderId !== asker.traderId && !asker.operator))
      throw new HistoryRequestError(404, 'FORBIDDEN_ASSESSMENT', `assessment '${id}' does not exist or is not yours`);
  }
}

function limitParam(q: URLSearchParams, max: number): number {
  return intParam(q, 'limit', Math.min(PAGE_LIMITS.default, max), 1, max);
}

/** A whole-number query parameter within bounds, `def` when absent; anything else is refused. */
function intParam(q: URLSearchParams, name: string, def: number, min: number, max: number): number {
  const v = optionalInt(q, name);
  if (v === undefined) return def;
  if (v < min || v > max) throw new HistoryRequestError(400, 'INVALID_QUERY', `${name}: a whole number from ${min} to ${max}`);
  return v;
}

function optionalInt(q: URLSearchParams, name: string): number | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  if (!/^-?\d{1,16}$/.test(raw) || !Number.isSafeInteger(Number(raw)))
    throw new HistoryRequestError(400, 'INVALID_QUERY', `${name}: a whole number, got '${raw.slice(0, 40)}'`);
  return Number(raw);
}

/** A cursor `a.b` of two whole numbers (a page's `next`). */
function pairParam(q: URLSearchParams, name: string): [number, number] | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  const m = /^(\d{1,16})\.(\d{1,9})$/.exec(raw);
  if (m === null || !Number.isSafeInteger(Number(m[1])))
    throw new HistoryRequestError(400, 'INVALID_QUERY', `${name}: a cursor as a page's next gives it, got '${raw.slice(0, 40)}'`);
  return [Number(m[1]), Number(m[2])];
}

function stringParam(q: URLSearchParams, name: string): string | undefined {
  const raw = q.get(name);
  if (raw === null || raw === '') return undefined;
  if (raw.length > 128) throw new HistoryRequestError(400, 'INVALID_QUERY', `${name}: at most 128 characters`);
  return raw;
}
