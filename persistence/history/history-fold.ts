/**
 * The history projection of one assessment: a pure fold over its domain
 * events in identity order `(input, n)`. Positions and the balance are
 * rebuilt with the actor's own arithmetic (`applyFill`, `settlePosition`), so
 * every balance here is the engine's to the last bit; the fold adds what the
 * events do not say at once: round-trip trades, the day's figures, the points
 * the equity series is drawn from.
 *
 * The state is plain data (it is stored between batches); rows go to a
 * {@link RowSink}. Folding the same events in the same order gives the same
 * rows, so a rebuild equals the live projection.
 */
import {
  applyFill,
  QTY_EPSILON,
  settlePosition,
  type AssessmentState,
  type OrderRole,
  type PhaseName,
  type Position,
  type RuleId,
} from '../../actors/index.js';
import {
  floorOf,
  type ClosedBy,
  type DayRow,
  type FillRow,
  type HeldPosition,
  type HistoryEvent,
  type PointKind,
  type PointRow,
  type TradeRow,
  type TransitionKind,
  type TransitionRow,
  type ViolationRow,
} from './history-rows.js';

/** Working orders remembered for their role and bracket; more than this and the oldest are forgotten. */
const MAX_ORDERS = 1_000;

interface OrderInfo {
  readonly role: OrderRole;
  readonly symbol: string;
  readonly stopLoss?: number;
  readonly takeProfit?: number;
  readonly stopPrice?: number;
}

/** The fold's state of one assessment (JSON data, non-finite numbers included). */
export interface FoldState {
  readonly assessmentId: string;
  traderId: string | null;
  tierId: string | null;
  tierVersion: number | null;
  status: string | null;
  /** -1 until the first phase starts. */
  phaseIndex: number;
  phase: PhaseName | null;
  createdAt: number | null;
  endedAt: number | null;
  balance: number;
  dayIndex: number;
  dayPnl: Record<number, number>;
  positions: Record<string, Position>;
  dailyFloor: number | null;
  maxLossFloor: number | null;
  orders: Record<string, OrderInfo>;
  /** Open round trips by symbol. */
  trades: Record<string, TradeRow>;
  day: DayRow | null;
  counts: { fills: number; trades: number; points: number; transitions: number; violations: number };
  /** Identity of the last event folded, and how many were. */
  last: [number, number] | null;
  events: number;
  /** Balances an event stated that differed from the fold's (never, unless the stream lost an event). */
  mismatches: number;
}

/** Where the fold's rows go. Trades and days may be written several times (open, then updated): the last one stands. */
export interface RowSink {
  fill(row: FillRow): void;
  trade(row: TradeRow): void;
  day(row: DayRow): void;
  point(row: PointRow): void;
  transition(row: TransitionRow): void;
  violation(row: ViolationRow): void;
}

/** A fresh state for an assessment no event has been folded for. */
export function initialFold(assessmentId: string): FoldState {
  return {
    assessmentId,
    traderId: null,
    tierId: null,
    tierVersion: null,
    status: null,
    phaseIndex: -1,
    phase: null,
    createdAt: null,
    endedAt: null,
    balance: 0,
    dayIndex: 0,
    dayPnl: {},
    positions: {},
    dailyFloor: null,
    maxLossFloor: null,
    orders: {},
    trades: {},
    day: null,
    counts: { fills: 0, trades: 0, points: 0, transitions: 0, violations: 0 },
    last: null,
    events: 0,
    mismatches: 0,
  };
}

/** Identity order of events: input, then n. */
export function compareIdentity(a: { input: number; n: number }, b: { input: number; n: number }): number {
  return a.input - b.input || a.n - b.n;
}

/** Whether `e` comes after the last event folded into `s` (so it can be folded on; otherwise the assessment is folded again from its start). */
export function follows(s: FoldState, e: { input: number; n: number }): boolean {
  return s.last === null || e.input > s.last[0] || (e.input === s.last[0] && e.n > s.last[1]);
}

/** The statuses after which an assessment takes no more events. */
const FINAL = new Set(['passed', 'failed', 'expired', 'abandoned']);

/** Fold one event (which must {@link follows} the state) into `s`, writing rows to `out`. */
export function foldEvent(s: FoldState, e: HistoryEvent, out: RowSink): void {
  s.last = [e.input, e.n];
  s.events++;
  switch (e.type) {
    case 'assessment.created':
      s.traderId = e.traderId;
      s.tierId = e.tierId;
      s.tierVersion = e.tierVersion;
      s.status = 'active';
      s.createdAt = e.at;
      s.balance = e.balance;
      return;
    case 'assessment.started':
      s.phaseIndex++;
      s.phase = e.phase;
      s.status = 'active';
      resync(s, e.balance, true);
      s.dayPnl = {};
      s.dailyFloor = floorOf(e.dailyFloor);
      s.maxLossFloor = floorOf(e.maxLossFloor);
      openDay(s, e.at, s.dayIndex, e.balance, e.balance, out);
      point(s, e.at, 'start', e.balance, out);
      transition(s, e, 'started', null, '', out);
      return;
    case 'assessment.day-started':
      resync(s, e.balance, false);
      closeDay(s, e.at, out);
      s.dayIndex = e.dayIndex;
      s.dailyFloor = floorOf(e.dailyFloor);
      s.maxLossFloor = floorOf(e.maxLossFloor);
      openDay(s, e.at, e.dayIndex, e.balance, e.equity, out);
      point(s, e.at, 'day', e.equity, out);
      return;
    case 'order.accepted': {
      const o = e.order;
      remember(s, o.id, {
        role: o.role,
        symbol: o.symbol,
        ...(o.stopLoss === undefined ? {} : { stopLoss: o.stopLoss }),
        ...(o.takeProfit === undefined ? {} : { takeProfit: o.takeProfit }),
        ...(o.stopPrice === undefined ? {} : { stopPrice: o.stopPrice }),
      });
      const trade = s.trades[o.symbol];
      // A stop placed on an open position's closing side: its stop-loss, if it had none.
      if (o.role === 'stop-loss' && trade !== undefined && trade.stopLoss === null && o.stopPrice !== undefined) {
        trade.stopLoss = o.stopPrice;
        out.trade({ ...trade });
      }
      return;
    }
    case 'order.cancelled':
    case 'order.expired':
      delete s.orders[e.orderId];
      return;
    case 'order.filled':
      fill(s, e, out);
      return;
    case 'position.settled': {
      const pnl = settlePosition(pseudo(s), e.symbol, e.payout);
      const trade = s.trades[e.symbol];
      if (trade !== undefined) {
        trade.exitPrice = ((trade.exitPrice ?? 0) * trade.exitQty + e.payout * Math.abs(e.qty)) / (trade.exitQty + Math.abs(e.qty));
        trade.exitQty += Math.abs(e.qty);
        trade.grossPnl += pnl;
        closeTrade(s, trade, e.at, 'settlement', out);
      }
      if (s.day !== null) {
        s.day.realizedPnl += pnl;
        out.day({ ...s.day });
      }
      point(s, e.at, 'settle', null, out);
      return;
    }
    case 'rules.violation-detected':
      out.violation({
        assessmentId: s.assessmentId,
        no: ++s.counts.violations,
        input: e.input,
        n: e.n,
        at: e.at,
        phaseIndex: s.phaseIndex,
        violation: e.violation,
      });
      point(s, e.at, 'violation', e.violation.equity, out);
      return;
    case 'assessment.pass-blocked':
      transition(s, e, 'pass-blocked', e.ruleId, e.detail, out);
      return;
    case 'assessment.trading-locked':
      transition(s, e, 'trading-locked', e.ruleId, JSON.stringify({ until: e.until }), out);
      return;
    case 'assessment.paused':
      s.status = 'paused';
      transition(s, e, 'paused', null, '', out);
      return;
    case 'assessment.resumed':
      s.status = 'active';
      transition(s, e, 'resumed', null, '', out);
      return;
    case 'assessment.phase-passed':
      resync(s, e.balance, false);
      closeDay(s, e.at, out);
      point(s, e.at, 'phase-passed', e.balance, out);
      transition(s, e, 'phase-passed', null, JSON.stringify({ nextPhase: e.nextPhase }), out);
      return;
    case 'assessment.passed':
    case 'assessment.failed':
    case 'assessment.expired':
    case 'assessment.abandoned': {
      resync(s, e.balance, false);
      const kind = e.type.slice('assessment.'.length) as 'passed' | 'failed' | 'expired' | 'abandoned';
      s.status = kind;
      s.endedAt = e.at;
      closeDay(s, e.at, out);
      point(s, e.at, 'end', e.balance, out);
      const rule = e.type === 'assessment.failed' || e.type === 'assessment.expired' ? e.ruleId : null;
      transition(s, e, kind, rule, e.type === 'assessment.expired' ? JSON.stringify(e.expiry) : '', out);
      return;
    }
    default:
      return; // orders' other steps and positions' own events: the fills say it all
  }
}

/** Whether the assessment has ended (no event after this one can change it). */
export function ended(s: FoldState): boolean {
  return s.status !== null && FINAL.has(s.status);
}

/** The positions held now, in symbol order. */
export function heldPositions(s: FoldState): HeldPosition[] {
  return Object.keys(s.positions)
    .sort()
    .map((symbol) => ({ symbol, qty: s.positions[symbol]!.qty, avgEntry: s.positions[symbol]!.avgEntry }));
}

function pseudo(s: FoldState): AssessmentState {
  // applyFill and settlePosition read and write only these fields of an actor's state.
  return s as unknown as AssessmentState;
}

function remember(s: FoldState, id: string, info: OrderInfo): void {
  s.orders[id] = info;
  const ids = Object.keys(s.orders);
  if (ids.length > MAX_ORDERS) for (const old of ids.slice(0, ids.length - MAX_ORDERS)) delete s.orders[old];
}

function fill(s: FoldState, e: Extract<HistoryEvent, { type: 'order.filled' }>, out: RowSink): void {
  const before = s.positions[e.symbol];
  const beforeQty = before?.qty ?? 0;
  const signed = e.side === 'buy' ? e.qty : -e.qty;
  const reducing = before !== undefined && Math.sign(beforeQty) !== Math.sign(signed);
  const closing = reducing ? Math.min(Math.abs(beforeQty), e.qty) : 0;
  const opening = e.qty - closing;
  const info = s.orders[e.orderId];
  const role: FillRow['role'] = info?.role ?? (e.clientOrderId.startsWith('flatten-') ? 'flatten' : 'entry');
  const outcome = applyFill(pseudo(s), e.symbol, e.side, e.qty, e.price, e.fee, e.at);
  if (e.status === 'filled') delete s.orders[e.orderId];

  let tradeNo = s.trades[e.symbol]?.no ?? 0;
  if (closing > 0) {
    const trade = s.trades[e.symbol];
    if (trade !== undefined) {
      trade.exitPrice = ((trade.exitPrice ?? 0) * trade.exitQty + e.price * closing) / (trade.exitQty + closing);
      trade.exitQty += closing;
      trade.grossPnl += outcome.realizedPnl;
      trade.fees += e.fee * (closing / e.qty);
      trade.fills++;
      trade.netPnl = trade.grossPnl - trade.fees;
      if (outcome.closed) closeTrade(s, trade, e.at, e.liquidation ? 'liquidation' : role === 'entry' ? 'order' : role, out);
    }
  }
  if (opening > QTY_EPSILON) {
    let trade = s.trades[e.symbol];
    if (trade === undefined) {
      const side = signed > 0 ? 'long' : 'short';
      trade = {
        assessmentId: s.assessmentId,
        no: ++s.counts.trades,
        phaseIndex: s.phaseIndex,
        symbol: e.symbol,
        side,
        open: true,
        maxQty: 0,
        entryQty: 0,
        entryPrice: 0,
        exitQty: 0,
        exitPrice: null,
        openedAt: e.at,
        closedAt: null,
        grossPnl: 0,
        fees: 0,
        netPnl: 0,
        closedBy: null,
        fills: 0,
        stopLoss: info?.stopLoss ?? null,
        takeProfit: info?.takeProfit ?? null,
        dailyFloor: s.dailyFloor,
        maxLossFloor: s.maxLossFloor,
        balanceAtOpen: s.balance,
      };
      s.trades[e.symbol] = trade;
    }
    trade.entryPrice = (trade.entryPrice * trade.entryQty + e.price * opening) / (trade.entryQty + opening);
    trade.entryQty += opening;
    trade.fees += e.fee * (opening / e.qty);
    trade.fills++;
    trade.netPnl = trade.grossPnl - trade.fees;
    tradeNo = trade.no;
  }
  const open = s.trades[e.symbol];
  if (open !== undefined) {
    open.maxQty = Math.max(open.maxQty, Math.abs(s.positions[e.symbol]?.qty ?? 0));
    out.trade({ ...open });
  }
  if (s.day !== null) {
    s.day.realizedPnl += outcome.realizedPnl - e.fee;
    s.day.fees += e.fee;
    s.day.fills++;
    if (outcome.opened) s.day.tradesOpened++;
    out.day({ ...s.day });
  }
  out.fill({
    assessmentId: s.assessmentId,
    no: ++s.counts.fills,
    input: e.input,
    n: e.n,
    at: e.at,
    phaseIndex: s.phaseIndex,
    dayIndex: s.dayIndex,
    orderId: e.orderId,
    clientOrderId: e.clientOrderId,
    role,
    symbol: e.symbol,
    side: e.side,
    qty: e.qty,
    price: e.price,
    fee: e.fee,
    realizedPnl: outcome.realizedPnl,
    balance: s.balance,
    liquidation: e.liquidation,
    tickSeq: e.tickSeq,
    tradeNo,
  });
  point(s, e.at, 'fill', null, out);
}

function closeTrade(s: FoldState, trade: TradeRow, at: number, by: ClosedBy, out: RowSink): void {
  trade.open = false;
  trade.closedAt = at;
  trade.closedBy = by;
  trade.netPnl = trade.grossPnl - trade.fees;
  out.trade({ ...trade });
  delete s.trades[trade.symbol];
}

function openDay(s: FoldState, at: number, dayIndex: number, balance: number, equity: number, out: RowSink): void {
  s.day = {
    assessmentId: s.assessmentId,
    phaseIndex: s.phaseIndex,
    dayIndex,
    startedAt: at,
    endedAt: null,
    startBalance: balance,
    startEquity: equity,
    dailyFloor: s.dailyFloor,
    maxLossFloor: s.maxLossFloor,
    realizedPnl: 0,
    fees: 0,
    fills: 0,
    tradesOpened: 0,
    endBalance: null,
  };
  out.day({ ...s.day });
}

function closeDay(s: FoldState, at: number, out: RowSink): void {
  if (s.day === null) return;
  s.day.endedAt = at;
  s.day.endBalance = s.balance;
  out.day({ ...s.day });
  s.day = null;
}

/** An event states the balance: it should be the fold's. A phase start sets it. */
function resync(s: FoldState, balance: number, phaseStart: boolean): void {
  if (!phaseStart && s.balance !== balance) s.mismatches++;
  s.balance = balance;
}

function point(s: FoldState, at: number, kind: PointKind, equity: number | null, out: RowSink): void {
  const positions = heldPositions(s);
  out.point({
    assessmentId: s.assessmentId,
    no: ++s.counts.points,
    at,
    kind,
    phaseIndex: Math.max(0, s.phaseIndex),
    balance: s.balance,
    equity: equity ?? (positions.length === 0 ? s.balance : null),
    dailyFloor: s.dailyFloor,
    maxLossFloor: s.maxLossFloor,
    positions,
  });
}

function transition(s: FoldState, e: HistoryEvent, kind: TransitionKind, ruleId: RuleId | null, detail: string, out: RowSink): void {
  out.transition({
    assessmentId: s.assessmentId,
    no: ++s.counts.transitions,
    input: e.input,
    n: e.n,
    at: e.at,
    kind,
    phaseIndex: Math.max(0, s.phaseIndex),
    phase: s.phase,
    ruleId,
    balance: s.balance,
    detail,
  });
}
