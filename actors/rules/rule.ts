/**
 * The one interface a rule implements. Every hook is optional: a rule joins
 * the moments it cares about (pre-trade, equity change, day roll, clock, pass).
 * Rules mutate only their own fields of `state.rules`; verdicts are values.
 */
import type { Instrument, MarketView } from '../market.js';
import type { Figures } from '../portfolio.js';
import type { Phase, Tier } from '../tier.js';
import type { AssessmentState, Expiry, Order, RejectReason, RuleId, Side } from '../types.js';

/** What a rule may read while judging. */
export interface RuleContext {
  readonly state: AssessmentState;
  readonly tier: Tier;
  readonly phase: Phase;
  readonly market: MarketView;
  readonly now: number;
}

/** An order about to be accepted, with its projected effect. */
export interface OrderIntent {
  readonly instrument: Instrument;
  readonly side: Side;
  readonly qty: number;
  /** The price the order is expected to fill at (quote for market orders, limit or stop otherwise). */
  readonly price: number;
  readonly stopLoss: number | undefined;
  readonly reduceOnly: boolean;
  /** Signed position in the symbol after a full fill. */
  readonly projectedQty: number;
  /** Fee a full fill would pay. */
  readonly fee: number;
  /** The working order this intent would replace (a modify), left out of what is already working. */
  readonly replaces: string | undefined;
}

/** A working stop on a position's closing side: its trigger price and remaining quantity. */
export interface ProtectiveStop {
  readonly stopPrice: number;
  readonly qty: number;
}

/** The stops protecting a position, before and after a stop is placed, moved, resized or cancelled. */
export interface StopChange {
  readonly symbol: string;
  readonly before: readonly ProtectiveStop[];
  readonly after: readonly ProtectiveStop[];
}

/** A pre-trade refusal. */
export interface Refusal {
  readonly reason: RejectReason;
  readonly detail: string;
}

/** An equity limit crossed, or a window that found positions open. Time limits end in an {@link Expiry} instead. */
export interface Breach {
  readonly ruleId: RuleId;
  readonly severity: 'hard' | 'soft';
  readonly limit: number;
  readonly value: number;
  readonly detail: string;
  readonly outcome: 'fail' | 'lock' | 'flatten';
  /** Act without recording a violation (e.g. cancelling resting orders at a window start). */
  readonly silent?: boolean;
}

/** Whether a pass condition holds; `blocksOnly` conditions never fail an account. */
export interface PassCheck {
  readonly met: boolean;
  readonly detail: string;
}

export interface Rule {
  readonly id: RuleId;
  /** Refuse an order before it is accepted. */
  checkOrder?(ctx: RuleContext, intent: OrderIntent, fig: Figures): Refusal | undefined;
  /** Refuse a change to the stops protecting a position (a stop placed, moved, resized or cancelled). */
  checkProtection?(ctx: RuleContext, change: StopChange): Refusal | undefined;
  /** Whether a working order must not fill at `at` (a window that forbids trading); it stays working. */
  holdsFill?(ctx: RuleContext, order: Order, at: number): boolean;
  /** Set floors at the start of a phase. */
  onPhaseStart?(ctx: RuleContext): void;
  /** Recompute at the trading-day reset; `fig` is taken at the reset instant. */
  onDayRoll?(ctx: RuleContext, fig: Figures): void;
  /** Judge equity; may move trailing state. Called on every evaluation. */
  onEquity?(ctx: RuleContext, fig: Figures): Breach | undefined;
  /** Equity above which this rule must see the account again (trailing peak, target). */
  watchAbove?(ctx: RuleContext): number;
  /** Lowest equity this rule allows now. */
  floor?(ctx: RuleContext): number;
  /** Judge the passage of time at one of the instants `nextDeadline` named (`ctx.now` is that instant). */
  onClock?(ctx: RuleContext, fig: Figures): Breach | Expiry | undefined;
  /** The next instant at which `onClock` may have something to say. */
  nextDeadline?(ctx: RuleContext): number;
  /** A condition for passing the phase. */
  passCheck?(ctx: RuleContext, fig: Figures): PassCheck;
}
