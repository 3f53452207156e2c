import { QTY_EPSILON } from '../portfolio.js';
import type { AssessmentState, Order, Position } from '../types.js';
import type { ProtectiveStop, Refusal, Rule, RuleContext } from './rule.js';

/**
 * Maximum risk per position: the loss if its stop-losses fill at their prices
 * (a binary share: its whole cost) as a share of balance; optionally every
 * linear position must be covered by stop-losses.
 *
 * Judged per position, at every change that can raise that loss: an entry that
 * grows the position counts the position's current risk and the working entries
 * on the same side; a stop on the closing side that is placed, moved, resized or
 * cancelled counts the position's stops after the change. A change that does not
 * raise the risk (tightening, a take-profit, a reduce-only close) is never refused.
 * With `basis: 'farthest'` a position's risk is also never below the loss to the
 * farthest stop ever set for it: tightening a stop gives no room back.
 */
export const riskPerTrade: Rule = {
  id: 'risk-per-trade',
  checkOrder(ctx, intent) {
    const symbol = intent.instrument.symbol;
    const held = ctx.state.positions[symbol];
    const current = held?.qty ?? 0;
    // Judged when the order opens exposure: it grows the position, or flips it to the other side.
    const flips = Math.abs(intent.projectedQty) > QTY_EPSILON && Math.sign(intent.projectedQty) !== Math.sign(current);
    if (intent.reduceOnly || (Math.abs(intent.projectedQty) <= Math.abs(current) && !flips)) return undefined;
    const p = ctx.phase.rules.riskPerTrade!;
    const adds = held !== undefined && Math.sign(current) === Math.sign(intent.projectedQty);
    const newQty = adds ? intent.qty : Math.abs(intent.projectedQty);
    const binary = intent.instrument.kind === 'binary';
    const pending = pendingRisk(ctx.state, symbol, intent.side, intent.replaces, binary);
    if (binary) {
      const cost = (adds ? held!.qty * held!.avgEntry : 0) + pending + intent.price * newQty;
      return judge(ctx, cost, 'the shares');
    }
    if (intent.stopLoss === undefined) {
      if (p.requireStopLoss) return { reason: 'MISSING_STOP_LOSS', detail: 'this tier requires a stop-loss on every entry order' };
      return undefined;
    }
    const risk =
      (adds ? positionRisk(ctx, held!, protectiveStops(ctx.state, symbol)) : 0) +
      pending +
      Math.abs(intent.price - intent.stopLoss) * newQty;
    return judge(ctx, risk, 'the position');
  },
  checkProtection(ctx, change) {
    const pos = ctx.state.positions[change.symbol];
    if (pos === undefined || ctx.market.instrument(change.symbol)?.kind === 'binary') return undefined;
    const p = ctx.phase.rules.riskPerTrade!;
    const before = stopRisk(pos, change.before);
    const after = stopRisk(pos, change.after);
    if (p.requireStopLoss && after.uncovered > QTY_EPSILON && after.uncovered > before.uncovered + QTY_EPSILON) {
      return {
        reason: 'MISSING_STOP_LOSS',
        detail: `this tier requires stop-losses covering the position: ${after.uncovered} of ${Math.abs(pos.qty)} would be left uncovered`,
      };
    }
    const riskBefore = positionRisk(ctx, pos, change.before);
    const riskAfter = positionRisk(ctx, pos, change.after);
    return riskAfter > riskBefore + 1e-9 ? judge(ctx, riskAfter, 'the position') : undefined;
  },
};

function judge(ctx: RuleContext, risk: number, what: string): Refusal | undefined {
  const p = ctx.phase.rules.riskPerTrade!;
  const allowed = (ctx.state.balance * p.maxPct) / 100;
  if (risk <= allowed) return undefined;
  return {
    reason: 'RISK_PER_TRADE_EXCEEDED',
    detail: `risk ${risk.toFixed(2)} on ${what} exceeds ${p.maxPct}% of balance (${allowed.toFixed(2)})`,
  };
}

/** The working stop orders on a position's closing side (remaining quantities), optionally leaving one out. */
export function protectiveStops(state: AssessmentState, symbol: string, except?: string): ProtectiveStop[] {
  const pos = state.positions[symbol];
  const out: ProtectiveStop[] = [];
  if (pos === undefined) return out;
  const closing = pos.qty > 0 ? 'sell' : 'buy';
  for (const id in state.orders) {
    const o = state.orders[id]!;
    if (o.symbol === symbol && o.type === 'stop' && o.side === closing && o.id !== except)
      out.push({ stopPrice: o.stopPrice!, qty: o.qty - o.filledQty });
  }
  return out;
}

/** Whether an order is a stop on the closing side of its symbol's position. */
export function isProtectiveStop(state: AssessmentState, order: Pick<Order, 'symbol' | 'side' | 'type'>): boolean {
  const pos = state.positions[order.symbol];
  return pos !== undefined && order.type === 'stop' && order.side === (pos.qty > 0 ? 'sell' : 'buy');
}

/**
 * Loss if the stops fill at their prices, nearest first, until the position is
 * covered (a stop behind a nearer one that already covers it adds nothing),
 * measured from the entry (or `from`, e.g. the mark); `uncovered` is the part
 * of the position no stop closes.
 */
export function stopRisk(pos: Position, stops: readonly ProtectiveStop[], from = pos.avgEntry): { risk: number; uncovered: number } {
  const long = pos.qty > 0;
  const sorted = [...stops].sort((a, b) => (long ? b.stopPrice - a.stopPrice : a.stopPrice - b.stopPrice));
  let left = Math.abs(pos.qty);
  let risk = 0;
  for (const s of sorted) {
    if (left <= QTY_EPSILON) break;
    const q = Math.min(left, s.qty);
    risk += q * Math.max(0, long ? from - s.stopPrice : s.stopPrice - from);
    left -= q;
  }
  return { risk, uncovered: Math.max(0, left) };
}

/** A position's risk on the tier's basis: its stops as they stand, or also the farthest stop ever set. */
function positionRisk(ctx: RuleContext, pos: Position, stops: readonly ProtectiveStop[]): number {
  const risk = stopRisk(pos, stops).risk;
  if (ctx.phase.rules.riskPerTrade!.basis !== 'farthest') return risk;
  let far = pos.farthestStop;
  for (const s of stops) if (far === undefined || (pos.qty > 0 ? s.stopPrice < far : s.stopPrice > far)) far = s.stopPrice;
  if (far === undefined) return risk;
  return Math.max(risk, Math.abs(pos.qty) * Math.max(0, pos.qty > 0 ? pos.avgEntry - far : far - pos.avgEntry));
}

/** Record the farthest stop protecting a position, for a `farthest` basis (no-op otherwise). */
export function recordFarthestStop(ctx: RuleContext, symbol: string): void {
  if (ctx.phase.rules.riskPerTrade?.basis !== 'farthest') return;
  const pos = ctx.state.positions[symbol];
  if (pos === undefined) return;
  for (const s of protectiveStops(ctx.state, symbol)) {
    if (pos.farthestStop === undefined || (pos.qty > 0 ? s.stopPrice < pos.farthestStop : s.stopPrice > pos.farthestStop))
      pos.farthestStop = s.stopPrice;
  }
}

/** Risk of the working entries on one side of a symbol if they all fill: to their stop-loss, or a share's cost. */
function pendingRisk(state: AssessmentState, symbol: string, side: Order['side'], except: string | undefined, binary: boolean): number {
  let risk = 0;
  for (const id in state.orders) {
    const o = state.orders[id]!;
    if (o.symbol !== symbol || o.side !== side || o.reduceOnly || o.role !== 'entry' || o.id === except) continue;
    const price = o.limitPrice ?? o.stopPrice ?? o.avgFillPrice;
    const qty = o.qty - o.filledQty;
    if (binary) risk += price * qty;
    else if (o.stopLoss !== undefined) risk += Math.abs(price - o.stopLoss) * qty;
  }
  return risk;
}
