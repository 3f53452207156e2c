/**
 * The rows of the history read model (migration 0006), as the fold produces
 * them and the stores return them. Times are epoch ms of the engine's clock;
 * a floor is `null` where the phase has no such rule (the engine's -Infinity).
 */
import type { AssessmentEvent, OrderRole, PhaseName, RuleId, Side, Violation } from '../../actors/index.js';

/** An assessment's domain event as the events stream carries it: its identity is (assessmentId, input, n). */
export type HistoryEvent = AssessmentEvent & { readonly input: number; readonly n: number };

/** A position as held at a point: signed quantity and average entry. */
export interface HeldPosition {
  readonly symbol: string;
  readonly qty: number;
  readonly avgEntry: number;
}

export interface FillRow {
  readonly assessmentId: string;
  /** 1, 2, … per assessment, in event order. */
  readonly no: number;
  readonly input: number;
  readonly n: number;
  readonly at: number;
  readonly phaseIndex: number;
  readonly dayIndex: number;
  readonly orderId: string;
  readonly clientOrderId: string;
  /** The order's role; `flatten` for a close-out the engine made itself (a pass, a flatten command). */
  readonly role: OrderRole | 'flatten';
  readonly symbol: string;
  readonly side: Side;
  readonly qty: number;
  readonly price: number;
  readonly fee: number;
  /** P&L the fill realized against the average entry (fees excluded). */
  readonly realizedPnl: number;
  /** Closed balance after the fill (fee booked). */
  readonly balance: number;
  readonly liquidation: boolean;
  readonly tickSeq: number;
  /** The round trip the fill belongs to (a flipping fill: the one it opened). */
  readonly tradeNo: number;
}

/** How a round trip ended. */
export type ClosedBy = 'order' | 'stop-loss' | 'take-profit' | 'liquidation' | 'flatten' | 'settlement';

export interface TradeRow {
  readonly assessmentId: string;
  readonly no: number;
  readonly phaseIndex: number;
  readonly symbol: string;
  /** `long` or `short`. */
  readonly side: 'long' | 'short';
  /** Still open: the figures so far. */
  open: boolean;
  /** Largest absolute size held. */
  maxQty: number;
  /** Quantity bought (long) or sold (short) into the position, and its average price. */
  entryQty: number;
  entryPrice: number;
  /** Quantity closed, and its average price (a settlement: the payout). */
  exitQty: number;
  exitPrice: number | null;
  readonly openedAt: number;
  closedAt: number | null;
  /** Realized P&L, fees excluded. */
  grossPnl: number;
  /** Fees of its fills (a flipping fill's fee split by quantity). */
  fees: number;
  netPnl: number;
  closedBy: ClosedBy | null;
  fills: number;
  /** The first stop-loss set for the position, and the take-profit of its entry's bracket. */
  stopLoss: number | null;
  takeProfit: number | null;
  /** The floors in force when it opened: the room it had. */
  readonly dailyFloor: number | null;
  readonly maxLossFloor: number | null;
  readonly balanceAtOpen: number;
}

export interface DayRow {
  readonly assessmentId: string;
  readonly phaseIndex: number;
  readonly dayIndex: number;
  readonly startedAt: number;
  endedAt: number | null;
  readonly startBalance: number;
  readonly startEquity: number;
  readonly dailyFloor: number | null;
  readonly maxLossFloor: number | null;
  /** Realized P&L of the day, fees included (the engine's `dayPnl`). */
  realizedPnl: number;
  fees: number;
  fills: number;
  tradesOpened: number;
  /** The closed balance at the day's end (the next reset, a phase's end or the assessment's). */
  endBalance: number | null;
}

/** What a point records; `equity` is exact for every kind but `fill` and `settle` with positions left open. */
export type PointKind = 'start' | 'day' | 'fill' | 'settle' | 'violation' | 'phase-passed' | 'end';

export interface PointRow {
  readonly assessmentId: string;
  readonly no: number;
  readonly at: number;
  readonly kind: PointKind;
  readonly phaseIndex: number;
  readonly balance: number;
  /** Exact equity, or null where it needs marks (positions open after a fill). */
  readonly equity: number | null;
  readonly dailyFloor: number | null;
  readonly maxLossFloor: number | null;
  readonly positions: readonly HeldPosition[];
}

export type TransitionKind =
  | 'started'
  | 'phase-passed'
  | 'passed'
  | 'failed'
  | 'expired'
  | 'abandoned'
  | 'paused'
  | 'resumed'
  | 'trading-locked'
  | 'pass-blocked';

export interface TransitionRow {
  readonly assessmentId: string;
  readonly no: number;
  readonly input: number;
  readonly n: number;
  readonly at: number;
  readonly kind: TransitionKind;
  readonly phaseIndex: number;
  readonly phase: PhaseName | null;
  readonly ruleId: RuleId | null;
  readonly balance: number;
  /** What the event said: a pass-block's reason, an expiry's evidence (JSON), a lock's end. */
  readonly detail: string;
}

export interface ViolationRow {
  readonly assessmentId: string;
  readonly no: number;
  readonly input: number;
  readonly n: number;
  readonly at: number;
  readonly phaseIndex: number;
  readonly violation: Violation;
}

/** One assessment's summary row. */
export interface AssessmentRow {
  readonly assessmentId: string;
  readonly traderId: string | null;
  readonly tierId: string | null;
  readonly tierVersion: number | null;
  readonly status: string | null;
  readonly phaseIndex: number;
  readonly createdAt: number | null;
  readonly endedAt: number | null;
  /** Events folded. */
  readonly events: number;
}

/** A floor as stored: the engine's -Infinity (no such rule) is null. */
export function floorOf(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
