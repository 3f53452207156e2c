/**
 * The history read model in Postgres, read side: an assessment's fills,
 * trades, days, points, transitions, violations and events, paged by keyset
 * (never by offset, so a page costs the same wherever it starts), and its
 * equity series from the points and the marks.
 */
import type postgres from 'postgres';
import type { Violation } from '../../actors/index.js';
import { decodeJson } from '../../engine/index.js';
import { mapPgError } from '../postgres/errors.js';
import { equitySeries, heldSymbols, resolutionFor, type BucketMarks, type EquitySeries } from './equity-series.js';
import type {
  AssessmentRow,
  ClosedBy,
  DayRow,
  FillRow,
  HistoryEvent,
  PointKind,
  PointRow,
  TradeRow,
  TransitionKind,
  TransitionRow,
  ViolationRow,
} from './history-rows.js';

/** The figures of a trade that performance needs. */
export type TradeFigures = Pick<TradeRow, 'no' | 'open' | 'openedAt' | 'closedAt' | 'netPnl' | 'fees'>;

/** A page of rows and the cursor of the next one (null: this was the last). */
export interface Page<T> {
  readonly items: T[];
  readonly next: string | null;
}

type Row = Record<string, unknown>;
const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

export class PgHistoryReader {
  readonly #sql: postgres.Sql;

  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async #q<T extends Row>(f: (sql: postgres.Sql) => Promise<T[]>): Promise<T[]> {
    try {
      return await f(this.#sql);
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** The assessment's summary row, or undefined when no event of it was folded. */
  async assessment(id: string): Promise<AssessmentRow | undefined> {
    const [r] = await this.#q((sql) => sql`select * from history_assessments where assessment_id = ${id}`);
    return r === undefined ? undefined : toAssessment(r);
  }

  /** Assessments of a trader (all, for `undefined`), newest first. */
  async assessments(traderId: string | undefined, limit: number): Promise<AssessmentRow[]> {
    const rows = await this.#q((sql) =>
      traderId === undefined
        ? sql`select * from history_assessments where trader_id is not null order by created_at desc nulls last, assessment_id limit ${limit}`
        : sql`select * from history_assessments where trader_id = ${traderId} order by created_at desc nulls last, assessment_id limit ${limit}`,
    );
    return rows.map(toAssessment);
  }

  /** Fills after fill number `after`, in order. */
  async fills(id: string, after: number, limit: number): Promise<Page<FillRow>> {
    const rows = await this.#q(
      (sql) => sql`select * from history_fills where assessment_id = ${id} and no > ${after} order by no limit ${limit + 1}`,
    );
    return page(rows.map(toFill), limit, (f) => String(f.no));
  }

  /** Round trips after trade number `after`, in order (open ones included). */
  async trades(id: string, after: number, limit: number): Promise<Page<TradeRow>> {
    const rows = await this.#q(
      (sql) => sql`select * from history_trades where assessment_id = ${id} and no > ${after} order by no limit ${limit + 1}`,
    );
    return page(rows.map(toTrade), limit, (t) => String(t.no));
  }

  /** What performance figures need of every trade, in order: compact, so 10,000 trades cost little to read. */
  async tradeFigures(id: string): Promise<TradeFigures[]> {
    const rows = (await this.#json(
      (sql) => sql`
      select coalesce(json_agg(json_build_array(no, open, opened_at, closed_at, net_pnl, fees) order by no), '[]')::text as j from history_trades where assessment_id = ${id}`,
    )) as unknown as Array<[number, boolean, number, number | null, number, number]>;
    return rows.map(([no, open, openedAt, closedAt, netPnl, fees]) => ({ no, open, openedAt, closedAt, netPnl, fees }));
  }

  /** The newest `n` trades, in order. */
  async lastTrades(id: string, n: number): Promise<TradeRow[]> {
    const rows = await this.#q(
      (sql) => sql`select * from (select * from history_trades where assessment_id = ${id} order by no desc limit ${n}) t order by no`,
    );
    return rows.map(toTrade);
  }

  /** Rows that a query returns as one JSON array text in column `j`. */
  async #json(f: (sql: postgres.Sql) => Promise<Row[]>): Promise<Row[]> {
    const [r] = await this.#q(f);
    return JSON.parse(String(r?.['j'] ?? '[]')) as Row[];
  }

  /** Days after `(phaseIndex, dayIndex)`, in order. */
  async days(id: string, after: readonly [number, number] | undefined, limit: number): Promise<Page<DayRow>> {
    const [p, d] = after ?? [-1, -1];
    const rows = await this.#q(
      (sql) => sql`
      select * from history_days where assessment_id = ${id} and (phase_index, day_index) > (${p}::int, ${d}::int)
       order by phase_index, day_index limit ${limit + 1}`,
    );
    return page(rows.map(toDay), limit, (x) => `${x.phaseIndex}.${x.dayIndex}`);
  }

  /** Every day of the assessment (reports). */
  async allDays(id: string): Promise<DayRow[]> {
    return (await this.#q((sql) => sql`select * from history_days where assessment_id = ${id} order by phase_index, day_index`)).map(toDay);
  }

  async points(id: string): Promise<PointRow[]> {
    const rows = (await this.#json(
      (sql) => sql`
      select coalesce(json_agg(json_build_array(no, at, kind, phase_index, balance, equity, daily_floor, max_loss_floor, positions::json) order by no), '[]')::text as j
        from history_points where assessment_id = ${id}`,
    )) as unknown as Array<[number, number, PointKind, number, number, number | null, number | null, number | null, PointRow['positions']]>;
    return rows.map(([no, at, kind, phaseIndex, balance, equity, dailyFloor, maxLossFloor, positions]) => ({
      assessmentId: id,
      no,
      at,
      kind,
      phaseIndex,
      balance,
      equity,
      dailyFloor,
      maxLossFloor,
      positions,
    }));
  }

  async transitions(id: string): Promise<TransitionRow[]> {
    return (await this.#q((sql) => sql`select * from history_transitions where assessment_id = ${id} order by no`)).map(toTransition);
  }

  async violations(id: string): Promise<ViolationRow[]> {
    const rows = await this.#q(
      (sql) => sql`
      select assessment_id, no, input, n, phase_index, evidence::text as evidence from violations
       where assessment_id = ${id} and input is not null order by no`,
    );
    return rows.map((r) => {
      const violation = decodeJson<Violation>(String(r['evidence']));
      return {
        assessmentId: String(r['assessment_id']),
        no: num(r['no']),
        input: num(r['input']),
        n: num(r['n']),
        at: violation.at,
        phaseIndex: num(r['phase_index']),
        violation,
      };
    });
  }

  /** Events before `(input, n)`, newest first (the console's events panel). */
  async events(id: string, before: readonly [number, number] | undefined, limit: number): Promise<Page<HistoryEvent>> {
    const [i, n] = before ?? [Number.MAX_SAFE_INTEGER, 0];
    const rows = await this.#q(
      (sql) => sql`
      select input, n, body from history_events where assessment_id = ${id} and (input, n) < (${i}::bigint, ${n}::int)
       order by input desc, n desc limit ${limit + 1}`,
    );
    return page(
      rows.map((r) => decodeJson<HistoryEvent>(String(r['body']))),
      limit,
      (e) => `${e.input}.${e.n}`,
    );
  }

  /**
   * The equity series over the assessment's life (or `[from, to]`), at most
   * `maxPoints` points. An assessment still running is drawn to `now` (the
   * engine's time, or its last mark).
   */
  async equity(
    id: string,
    options: { maxPoints: number; from?: number; to?: number; now?: number; points?: readonly PointRow[] },
  ): Promise<EquitySeries> {
    const points = options.points ?? (await this.points(id));
    if (points.length === 0) return { from: options.from ?? 0, to: options.to ?? 0, resolutionMs: 60_000, points: [] };
    const symbols = heldSymbols(points);
    const start = options.from ?? points[0]!.at;
    const ended = points.at(-1)!.kind === 'end';
    let end = options.to ?? (ended ? points.at(-1)!.at : Math.max(points.at(-1)!.at, options.now ?? 0));
    if (options.to === undefined && !ended && options.now === undefined && symbols.length > 0) {
      const [m] = await this.#q((sql) => sql`select max(bucket) as b from history_marks where symbol = any(${symbols}::text[])`);
      if (m?.['b'] !== null && m?.['b'] !== undefined) end = Math.max(end, num(m['b']) + 60_000);
    }
    const from = Math.min(start, end);
    const resolution = resolutionFor(from, end, options.maxPoints);
    const marks = symbols.length === 0 ? [] : await this.marks(symbols, from, end, resolution);
    return equitySeries(
      points.filter((p) => p.at <= end),
      marks,
      from,
      end,
      resolution,
    );
  }

  /** Marks of `symbols` over `[from, to]`, merged into buckets of `resolutionMs`. */
  async marks(symbols: readonly string[], from: number, to: number, resolutionMs: number): Promise<BucketMarks[]> {
    const lo = Math.floor(from / resolutionMs) * resolutionMs;
    // Extremes by a plain aggregate; the closing quote by the key of each group's last minute.
    const rows = (await this.#json(
      (sql) => sql`
      select coalesce(json_agg(json_build_array(g.symbol, g.k, m.bid, m.ask, g.low_bid, g.high_ask)), '[]')::text as j
        from (select symbol, (bucket - ${lo}::bigint) / ${resolutionMs}::bigint as k, max(bucket) as last, min(low_bid) as low_bid, max(high_ask) as high_ask
                from history_marks where symbol = any(${symbols as string[]}::text[]) and bucket >= ${lo}::bigint and bucket <= ${to}::bigint
               group by symbol, k) g
        join history_marks m on m.symbol = g.symbol and m.bucket = g.last`,
    )) as unknown as Array<[string, number, number, number, number, number]>;
    return rows.map(([symbol, k, bid, ask, lowBid, highAsk]) => ({ symbol, bucket: lo + k * resolutionMs, bid, ask, lowBid, highAsk }));
  }
}

function page<T>(items: T[], limit: number, cursor: (x: T) => string): Page<T> {
  if (items.length <= limit) return { items, next: null };
  const kept = items.slice(0, limit);
  return { items: kept, next: cursor(kept.at(-1)!) };
}

function toAssessment(r: Row): AssessmentRow {
  return {
    assessmentId: String(r['assessment_id']),
    traderId: (r['trader_id'] as string | null) ?? null,
    tierId: (r['tier_id'] as string | null) ?? null,
    tierVersion: numOrNull(r['tier_version']),
    status: (r['status'] as string | null) ?? null,
    phaseIndex: num(r['phase_index']),
    createdAt: numOrNull(r['created_at']),
    endedAt: numOrNull(r['ended_at']),
    events: num(r['events']),
  };
}

function toFill(r: Row): FillRow {
  return {
    assessmentId: String(r['assessment_id']),
    no: num(r['no']),
    input: num(r['input']),
    n: num(r['n']),
    at: num(r['at']),
    phaseIndex: num(r['phase_index']),
    dayIndex: num(r['day_index']),
    orderId: String(r['order_id']),
    clientOrderId: String(r['client_order_id']),
    role: r['role'] as FillRow['role'],
    symbol: String(r['symbol']),
    side: r['side'] as FillRow['side'],
    qty: num(r['qty']),
    price: num(r['price']),
    fee: num(r['fee']),
    realizedPnl: num(r['realized_pnl']),
    balance: num(r['balance']),
    liquidation: Boolean(r['liquidation']),
    tickSeq: num(r['tick_seq']),
    tradeNo: num(r['trade_no']),
  };
}

function toTrade(r: Row): TradeRow {
  return {
    assessmentId: String(r['assessment_id']),
    no: num(r['no']),
    phaseIndex: num(r['phase_index']),
    symbol: String(r['symbol']),
    side: r['side'] as TradeRow['side'],
    open: Boolean(r['open']),
    maxQty: num(r['max_qty']),
    entryQty: num(r['entry_qty']),
    entryPrice: num(r['entry_price']),
    exitQty: num(r['exit_qty']),
    exitPrice: numOrNull(r['exit_price']),
    openedAt: num(r['opened_at']),
    closedAt: numOrNull(r['closed_at']),
    grossPnl: num(r['gross_pnl']),
    fees: num(r['fees']),
    netPnl: num(r['net_pnl']),
    closedBy: (r['closed_by'] as ClosedBy | null) ?? null,
    fills: num(r['fills']),
    stopLoss: numOrNull(r['stop_loss']),
    takeProfit: numOrNull(r['take_profit']),
    dailyFloor: numOrNull(r['daily_floor']),
    maxLossFloor: numOrNull(r['max_loss_floor']),
    balanceAtOpen: num(r['balance_at_open']),
  };
}

function toDay(r: Row): DayRow {
  return {
    assessmentId: String(r['assessment_id']),
    phaseIndex: num(r['phase_index']),
    dayIndex: num(r['day_index']),
    startedAt: num(r['started_at']),
    endedAt: numOrNull(r['ended_at']),
    startBalance: num(r['start_balance']),
    startEquity: num(r['start_equity']),
    dailyFloor: numOrNull(r['daily_floor']),
    maxLossFloor: numOrNull(r['max_loss_floor']),
    realizedPnl: num(r['realized_pnl']),
    fees: num(r['fees']),
    fills: num(r['fills']),
    tradesOpened: num(r['trades_opened']),
    endBalance: numOrNull(r['end_balance']),
  };
}

function toTransition(r: Row): TransitionRow {
  return {
    assessmentId: String(r['assessment_id']),
    no: num(r['no']),
    input: num(r['input']),
    n: num(r['n']),
    at: num(r['at']),
    kind: r['kind'] as TransitionKind,
    phaseIndex: num(r['phase_index']),
    phase: (r['phase'] as TransitionRow['phase']) ?? null,
    ruleId: (r['rule_id'] as TransitionRow['ruleId']) ?? null,
    balance: num(r['balance']),
    detail: String(r['detail']),
  };
}
