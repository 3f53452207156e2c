/**
 * The history read model in Postgres (migration 0006), write side: events in,
 * rows out, idempotently.
 *
 * One transaction per batch: the events are inserted under their identity
 * `(assessment_id, input, n)`, and only those that were not there already are
 * folded, so a redelivered event changes nothing. Each touched assessment's
 * row is read `for update`, so concurrent projectors (several consumers of
 * one durable consumer) serialize per assessment; its fold state is kept in
 * memory and trusted only while the row's count of folded events is the
 * state's (after a restart, or another process's write, it is folded again
 * from the stored events, writing nothing). An event older
 * than the last one folded for its assessment (the stream may hold an
 * assessment's events out of order after a failed publish was retried) makes
 * that assessment be folded again from its first event: the rows are always
 * the fold of the events in identity order, however they arrived.
 */
import type postgres from 'postgres';
import { decodeJson, encodeJson } from '../../engine/index.js';
import { mapPgError } from '../postgres/errors.js';
import { compareIdentity, follows, foldEvent, initialFold, type FoldState, type RowSink } from './history-fold.js';
import type { HistoryEvent } from './history-rows.js';
import { RowBatch } from './row-batch.js';

/** A minute of one symbol's quotes (see `MarkRecorder`). */
export interface MarkBucket {
  /** Start of the minute, epoch ms. */
  readonly bucket: number;
  readonly symbol: string;
  /** Market-log sequence of the last quote. */
  readonly seq: number;
  readonly bid: number;
  readonly ask: number;
  readonly lowBid: number;
  readonly highAsk: number;
}

/** The tables the projection writes (violations: only the rows it wrote). */
export const HISTORY_TABLES = [
  'history_events',
  'history_assessments',
  'history_fills',
  'history_trades',
  'history_days',
  'history_points',
  'history_transitions',
  'history_marks',
] as const;

const DERIVED = ['history_fills', 'history_trades', 'history_days', 'history_points', 'history_transitions'] as const;

type Tx = postgres.TransactionSql;

export interface PgHistoryStoreOptions {
  /** Fold states kept in memory (the most recently touched assessments); others are folded again from their stored events when next touched. @default 20_000 */
  readonly cacheSize?: number;
}

/** A sink for folds whose rows are already stored (a state restored from its events). */
const DISCARD: RowSink = { fill() {}, trade() {}, day() {}, point() {}, transition() {}, violation() {} };

export class PgHistoryStore {
  readonly #sql: postgres.Sql;
  readonly #cache = new Map<string, FoldState>();
  readonly #cacheSize: number;
  #touched: string[] = [];

  constructor(sql: postgres.Sql, options: PgHistoryStoreOptions = {}) {
    this.#sql = sql;
    this.#cacheSize = options.cacheSize ?? 20_000;
  }

  /**
   * Fold a batch of events in; resolves with the events that were new (in
   * identity order), which is what a report trigger should look at. Rejects
   * with `PgUnavailableError` when the database cannot be reached: nothing of
   * the batch is kept, and it can be offered again.
   */
  async ingest(events: readonly HistoryEvent[]): Promise<HistoryEvent[]> {
    if (events.length === 0) return [];
    const unique = new Map<string, HistoryEvent>();
    for (const e of events) unique.set(`${e.assessmentId}\u0000${e.input}\u0000${e.n}`, e);
    this.#touched = [];
    try {
      return await this.#sql.begin((tx) => this.#ingest(tx, [...unique.values()]));
    } catch (err) {
      // States folded in a transaction that did not commit are not the table's: forget them.
      for (const id of this.#touched) this.#cache.delete(id);
      throw mapPgError(err);
    }
  }

  async #ingest(tx: Tx, events: HistoryEvent[]): Promise<HistoryEvent[]> {
    const doc = events.map((e) => ({ assessment_id: e.assessmentId, input: e.input, n: e.n, type: e.type, at: e.at, body: encodeJson(e) }));
    const inserted = await tx<{ assessment_id: string; input: string; n: number }[]>`
      insert into history_events (assessment_id, input, n, type, at, body)
      select assessment_id, input, n, type, at, body from json_populate_recordset(null::history_events, ${JSON.stringify(doc)}::text::json)
      on conflict do nothing returning assessment_id, input, n`;
    if (inserted.length === 0) return [];
    const isNew = new Set(inserted.map((r) => `${r.assessment_id}\u0000${r.input}\u0000${r.n}`));
    const fresh = events
      .filter((e) => isNew.has(`${e.assessmentId}\u0000${e.input}\u0000${e.n}`))
      .sort((a, b) => compareIdentity(a, b) || (a.assessmentId < b.assessmentId ? -1 : 1));
    const byAssessment = new Map<string, HistoryEvent[]>();
    for (const e of fresh) {
      let list = byAssessment.get(e.assessmentId);
      if (list === undefined) byAssessment.set(e.assessmentId, (list = []));
      list.push(e);
    }
    const ids = [...byAssessment.keys()].sort();
    // Rows locked in one order, so two batches can never wait on each other in a cycle.
    await tx`insert into history_assessments (assessment_id) select unnest(${ids}::text[]) order by 1 on conflict do nothing`;
    const held = await tx<{ assessment_id: string; events: number }[]>`
      select assessment_id, events from history_assessments where assessment_id = any(${ids}::text[]) order by assessment_id for update`;
    const batch = new RowBatch();
    const states = new Map<string, FoldState>();
    const refold: string[] = [];
    this.#touched = ids;
    for (const row of held) {
      const id = row.assessment_id;
      const list = byAssessment.get(id)!;
      // The cached state, if it is the one the table says was folded (another process may have folded since); else folded again from the stored events, rows unwritten.
      let state = this.#cache.get(id);
      if (state === undefined || state.events !== row.events)
        state = await this.#restore(tx, id, new Set(list.map((e) => `${e.input}\u0000${e.n}`)));
      if (state.events !== row.events || !follows(state, list[0]!)) {
        refold.push(id);
        continue;
      }
      for (const e of list) foldEvent(state, e, batch);
      states.set(id, state);
    }
    if (refold.length > 0) {
      // An event older than one already folded: this assessment's rows are made again from all its events, in order.
      for (const table of DERIVED) await tx.unsafe(`delete from ${table} where assessment_id = any($1::text[])`, [refold]);
      await tx`delete from violations where assessment_id = any(${refold}::text[]) and input is not null`;
      for (const id of refold) {
        const state = initialFold(id);
        const all = await tx<{ body: string }[]>`select body from history_events where assessment_id = ${id} order by input, n`;
        for (const r of all) foldEvent(state, decodeJson<HistoryEvent>(r.body), batch);
        states.set(id, state);
      }
    }
    await writeRows(tx, batch);
    const summary = [...states.values()].map((s) => ({
      assessment_id: s.assessmentId,
      trader_id: s.traderId,
      tier_id: s.tierId,
      tier_version: s.tierVersion,
      status: s.status,
      phase_index: Math.max(0, s.phaseIndex),
      created_at: s.createdAt,
      ended_at: s.endedAt,
      events: s.events,
    }));
    await tx`
      update history_assessments a set trader_id = u.trader_id, tier_id = u.tier_id, tier_version = u.tier_version, status = u.status,
        phase_index = u.phase_index, created_at = u.created_at, ended_at = u.ended_at, events = u.events
      from json_populate_recordset(null::history_assessments, ${JSON.stringify(summary)}::text::json) u
      where a.assessment_id = u.assessment_id`;
    for (const [id, s] of states) this.#remember(id, s);
    return fresh;
  }

  /** The fold of an assessment's stored events but `skip` (this batch's), without writing rows: its state after them. */
  async #restore(tx: Tx, id: string, skip: ReadonlySet<string>): Promise<FoldState> {
    const state = initialFold(id);
    const rows = await tx<
      { input: string; n: number; body: string }[]
    >`select input, n, body from history_events where assessment_id = ${id} order by input, n`;
    for (const r of rows) if (!skip.has(`${r.input}\u0000${r.n}`)) foldEvent(state, decodeJson<HistoryEvent>(r.body), DISCARD);
    return state;
  }

  #remember(id: string, state: FoldState): void {
    this.#cache.delete(id); // re-inserted last: the map's order is the recency order
    this.#cache.set(id, state);
    if (this.#cache.size > this.#cacheSize) this.#cache.delete(this.#cache.keys().next().value as string);
  }

  /** Merge minutes of marks in (idempotent: lows and highs by min and max, the last quote by seq). */
  async recordMarks(marks: readonly MarkBucket[]): Promise<void> {
    if (marks.length === 0) return;
    const doc = marks.map((m) => ({
      bucket: m.bucket,
      symbol: m.symbol,
      seq: m.seq,
      bid: m.bid,
      ask: m.ask,
      low_bid: m.lowBid,
      high_ask: m.highAsk,
    }));
    try {
      await this.#sql`
        insert into history_marks as m (bucket, symbol, seq, bid, ask, low_bid, high_ask)
        select bucket, symbol, seq, bid, ask, low_bid, high_ask from json_populate_recordset(null::history_marks, ${JSON.stringify(doc)}::text::json)
        order by symbol, bucket
        on conflict (symbol, bucket) do update set
          bid = case when excluded.seq >= m.seq then excluded.bid else m.bid end,
          ask = case when excluded.seq >= m.seq then excluded.ask else m.ask end,
          seq = greatest(m.seq, excluded.seq), low_bid = least(m.low_bid, excluded.low_bid), high_ask = greatest(m.high_ask, excluded.high_ask)`;
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** Empty every table of the projection (before a rebuild). */
  async clear(): Promise<void> {
    this.#cache.clear();
    try {
      await this.#sql.begin(async (tx) => {
        await tx.unsafe(`truncate ${HISTORY_TABLES.join(', ')}`);
        await tx`delete from violations where input is not null`;
      });
    } catch (err) {
      throw mapPgError(err);
    }
  }
}

/** One statement per table: inserts for the append-only rows, upserts for trades and days. */
async function writeRows(tx: Tx, b: RowBatch): Promise<void> {
  if (b.fills.length > 0) {
    const doc = b.fills.map((f) => ({
      assessment_id: f.assessmentId,
      no: f.no,
      input: f.input,
      n: f.n,
      at: f.at,
      phase_index: f.phaseIndex,
      day_index: f.dayIndex,
      order_id: f.orderId,
      client_order_id: f.clientOrderId,
      role: f.role,
      symbol: f.symbol,
      side: f.side,
      qty: f.qty,
      price: f.price,
      fee: f.fee,
      realized_pnl: f.realizedPnl,
      balance: f.balance,
      liquidation: f.liquidation,
      tick_seq: f.tickSeq,
      trade_no: f.tradeNo,
    }));
    await tx`insert into history_fills select * from json_populate_recordset(null::history_fills, ${JSON.stringify(doc)}::text::json)`;
  }
  if (b.trades.size > 0) {
    const doc = [...b.trades.values()].map((t) => ({
      assessment_id: t.assessmentId,
      no: t.no,
      phase_index: t.phaseIndex,
      symbol: t.symbol,
      side: t.side,
      open: t.open,
      max_qty: t.maxQty,
      entry_qty: t.entryQty,
      entry_price: t.entryPrice,
      exit_qty: t.exitQty,
      exit_price: t.exitPrice,
      opened_at: t.openedAt,
      closed_at: t.closedAt,
      gross_pnl: t.grossPnl,
      fees: t.fees,
      net_pnl: t.netPnl,
      closed_by: t.closedBy,
      fills: t.fills,
      stop_loss: t.stopLoss,
      take_profit: t.takeProfit,
      daily_floor: t.dailyFloor,
      max_loss_floor: t.maxLossFloor,
      balance_at_open: t.balanceAtOpen,
    }));
    await tx`
      insert into history_trades select * from json_populate_recordset(null::history_trades, ${JSON.stringify(doc)}::text::json)
      on conflict (assessment_id, no) do update set open = excluded.open, max_qty = excluded.max_qty, entry_qty = excluded.entry_qty,
        entry_price = excluded.entry_price, exit_qty = excluded.exit_qty, exit_price = excluded.exit_price, closed_at = excluded.closed_at,
        gross_pnl = excluded.gross_pnl, fees = excluded.fees, net_pnl = excluded.net_pnl, closed_by = excluded.closed_by, fills = excluded.fills,
        stop_loss = excluded.stop_loss, take_profit = excluded.take_profit`;
  }
  if (b.days.size > 0) {
    const doc = [...b.days.values()].map((d) => ({
      assessment_id: d.assessmentId,
      phase_index: d.phaseIndex,
      day_index: d.dayIndex,
      started_at: d.startedAt,
      ended_at: d.endedAt,
      start_balance: d.startBalance,
      start_equity: d.startEquity,
      daily_floor: d.dailyFloor,
      max_loss_floor: d.maxLossFloor,
      realized_pnl: d.realizedPnl,
      fees: d.fees,
      fills: d.fills,
      trades_opened: d.tradesOpened,
      end_balance: d.endBalance,
    }));
    await tx`
      insert into history_days select * from json_populate_recordset(null::history_days, ${JSON.stringify(doc)}::text::json)
      on conflict (assessment_id, phase_index, day_index) do update set ended_at = excluded.ended_at, realized_pnl = excluded.realized_pnl,
        fees = excluded.fees, fills = excluded.fills, trades_opened = excluded.trades_opened, end_balance = excluded.end_balance`;
  }
  if (b.points.length > 0) {
    const doc = b.points.map((p) => ({
      assessment_id: p.assessmentId,
      no: p.no,
      at: p.at,
      kind: p.kind,
      phase_index: p.phaseIndex,
      balance: p.balance,
      equity: p.equity,
      daily_floor: p.dailyFloor,
      max_loss_floor: p.maxLossFloor,
      positions: JSON.stringify(p.positions),
    }));
    await tx`insert into history_points select * from json_populate_recordset(null::history_points, ${JSON.stringify(doc)}::text::json)`;
  }
  if (b.transitions.length > 0) {
    const doc = b.transitions.map((t) => ({
      assessment_id: t.assessmentId,
      no: t.no,
      input: t.input,
      n: t.n,
      at: t.at,
      kind: t.kind,
      phase_index: t.phaseIndex,
      phase: t.phase,
      rule_id: t.ruleId,
      balance: t.balance,
      detail: t.detail,
    }));
    await tx`insert into history_transitions select * from json_populate_recordset(null::history_transitions, ${JSON.stringify(doc)}::text::json)`;
  }
  if (b.violations.length > 0) {
    const doc = b.violations.map((v) => ({
      assessment_id: v.assessmentId,
      rule_id: v.violation.ruleId,
      evidence: v.violation,
      at: new Date(v.at).toISOString(),
      input: v.input,
      n: v.n,
      no: v.no,
      phase_index: v.phaseIndex,
    }));
    await tx`
      insert into violations (assessment_id, rule_id, evidence, at, input, n, no, phase_index)
      select assessment_id, rule_id, evidence, at, input, n, no, phase_index
        from json_to_recordset(${JSON.stringify(doc)}::text::json) as u(assessment_id text, rule_id text, evidence jsonb, at timestamptz, input bigint, n int, no int, phase_index int)`;
  }
}
