/**
 * Portfolio arithmetic: fills into net positions, marks, equity and margin.
 * Positions are marked at their liquidation side (longs at the bid, shorts at
 * the ask), so equity is what the account would hold if flattened now.
 */
import type { MarketView, Quote } from './market.js';
import type { AssessmentState, Position, PositionEvidence, Side } from './types.js';

/** Quantities smaller than this are treated as flat (float dust after reductions). */
export const QTY_EPSILON = 1e-9;

/** Account figures at one instant. */
export interface Figures {
  readonly balance: number;
  readonly equity: number;
  readonly unrealizedPnl: number;
  /** Sum of |qty| × mark over all positions. */
  readonly grossNotional: number;
  /** Margin held: linear notional / leverage plus binary cost basis. */
  readonly usedMargin: number;
}

/** The price a position is marked at; the entry price while no quote exists. */
export function markPrice(pos: Position, quote: Quote | undefined): number {
  if (quote === undefined) return pos.avgEntry;
  return pos.qty > 0 ? quote.bid : quote.ask;
}

/** Unrealized P&L of a position at a mark. */
export function unrealizedAt(pos: Position, mark: number): number {
  return (mark - pos.avgEntry) * pos.qty;
}

/** Balance, equity, exposure and margin of an account at the current marks. */
export function figures(state: AssessmentState, market: MarketView, leverage: number): Figures {
  let unrealizedPnl = 0;
  let grossNotional = 0;
  let usedMargin = 0;
  for (const symbol in state.positions) {
    const pos = state.positions[symbol]!;
    const mark = markPrice(pos, market.quote(symbol));
    unrealizedPnl += unrealizedAt(pos, mark);
    const notional = Math.abs(pos.qty) * mark;
    grossNotional += notional;
    usedMargin += market.instrument(symbol)?.kind === 'binary' ? pos.qty * pos.avgEntry : notional / leverage;
  }
  return { balance: state.balance, equity: state.balance + unrealizedPnl, unrealizedPnl, grossNotional, usedMargin };
}

/** The positions at this instant, as evidence for a verdict. */
export function positionEvidence(state: AssessmentState, market: MarketView): PositionEvidence[] {
  const out: PositionEvidence[] = [];
  for (const symbol in state.positions) {
    const pos = state.positions[symbol]!;
    const mark = markPrice(pos, market.quote(symbol));
    out.push({ symbol, qty: pos.qty, avgEntry: pos.avgEntry, mark, unrealizedPnl: unrealizedAt(pos, mark) });
  }
  return out;
}

/** What a fill did to the position of its symbol. */
export interface FillOutcome {
  readonly opened: boolean;
  readonly closed: boolean;
  /** P&L realized by the reducing part of the fill (fees excluded). */
  readonly realizedPnl: number;
  /** When the fill closed the position: the P&L realized over its whole life. */
  readonly closedPnl: number;
  readonly position: Position | undefined;
}

/**
 * Apply a fill to the net position and the balance. Reductions realize P&L
 * against the average entry; a fill larger than the position flips it, the
 * excess opening at the fill price.
 */
export function applyFill(
  state: AssessmentState,
  symbol: string,
  side: Side,
  qty: number,
  price: number,
  fee: number,
  now: number,
): FillOutcome {
  const signed = side === 'buy' ? qty : -qty;
  const pos = state.positions[symbol];
  let realizedPnl = 0;
  let opened = false;
  let closed = false;
  let closedPnl = 0;
  let result: Position | undefined;
  if (pos === undefined) {
    result = { symbol, qty: signed, avgEntry: price, realizedPnl: 0, openedAt: now };
    state.positions[symbol] = result;
    opened = true;
  } else if (Math.sign(pos.qty) === Math.sign(signed)) {
    const total = Math.abs(pos.qty) + qty;
    pos.avgEntry = (pos.avgEntry * Math.abs(pos.qty) + price * qty) / total;
    pos.qty += signed;
    result = pos;
  } else {
    const closing = Math.min(Math.abs(pos.qty), qty);
    realizedPnl = (price - pos.avgEntry) * closing * Math.sign(pos.qty);
    const rest = qty - closing;
    const remaining = pos.qty + Math.sign(signed) * closing;
    if (Math.abs(remaining) < QTY_EPSILON) {
      delete state.positions[symbol];
      closed = true;
      closedPnl = pos.realizedPnl + realizedPnl;
      if (rest > QTY_EPSILON) {
        result = { symbol, qty: Math.sign(signed) * rest, avgEntry: price, realizedPnl: 0, openedAt: now };
        state.positions[symbol] = result;
        opened = true;
      }
    } else {
      pos.qty = remaining;
      pos.realizedPnl += realizedPnl;
      result = pos;
    }
  }
  bookPnl(state, realizedPnl - fee);
  return { opened, closed, realizedPnl, closedPnl, position: result };
}

/** Settle a binary position at its payout (1 or 0 per share); returns the realized P&L. */
export function settlePosition(state: AssessmentState, symbol: string, payout: number): number {
  const pos = state.positions[symbol];
  if (pos === undefined) return 0;
  const pnl = (payout - pos.avgEntry) * pos.qty;
  delete state.positions[symbol];
  bookPnl(state, pnl);
  return pnl;
}

function bookPnl(state: AssessmentState, amount: number): void {
  if (amount === 0) return;
  state.balance += amount;
  state.dayPnl[state.dayIndex] = (state.dayPnl[state.dayIndex] ?? 0) + amount;
}
