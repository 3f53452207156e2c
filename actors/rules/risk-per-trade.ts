import type { Rule } from './rule.js';

/**
 * Maximum risk per trade: the loss to the stop-loss (or, for a binary share,
 * its whole cost) as a share of balance; optionally a stop-loss is mandatory.
 */
export const riskPerTrade: Rule = {
  id: 'risk-per-trade',
  checkOrder(ctx, intent) {
    if (intent.reduceOnly || Math.abs(intent.projectedQty) <= Math.abs(ctx.state.positions[intent.instrument.symbol]?.qty ?? 0)) {
      return undefined;
    }
    const p = ctx.phase.rules.riskPerTrade!;
    const binary = intent.instrument.kind === 'binary';
    if (!binary && intent.stopLoss === undefined) {
      if (p.requireStopLoss) return { reason: 'MISSING_STOP_LOSS', detail: 'this tier requires a stop-loss on every entry order' };
      return undefined;
    }
    const risk = binary
      ? intent.price * intent.qty
      : Math.abs(intent.price - intent.stopLoss!) * intent.qty;
    const allowed = (ctx.state.balance * p.maxPct) / 100;
    if (risk <= allowed) return undefined;
    return {
      reason: 'RISK_PER_TRADE_EXCEEDED',
      detail: `risk ${risk.toFixed(2)} exceeds ${p.maxPct}% of balance (${allowed.toFixed(2)})`,
    };
  },
};
