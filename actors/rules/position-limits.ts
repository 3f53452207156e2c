import type { Rule } from './rule.js';

/** Maximum position size per symbol, gross notional, and leverage, judged on the position after a full fill. */
export const positionLimits: Rule = {
  id: 'position-limits',
  checkOrder(ctx, intent, fig) {
    const p = ctx.phase.rules.positionLimits!;
    const symbol = intent.instrument.symbol;
    const current = ctx.state.positions[symbol]?.qty ?? 0;
    if (Math.abs(intent.projectedQty) <= Math.abs(current)) return undefined; // reductions are always allowed
    const maxQty = p.maxQty?.[symbol] ?? p.maxQty?.['*'];
    if (maxQty !== undefined && Math.abs(intent.projectedQty) > maxQty) {
      return {
        reason: 'MAX_QTY_EXCEEDED',
        detail: `position of ${Math.abs(intent.projectedQty)} in ${symbol} exceeds the limit of ${maxQty}`,
      };
    }
    const added = (Math.abs(intent.projectedQty) - Math.abs(current)) * intent.price;
    const gross = fig.grossNotional + added;
    if (p.maxNotional !== undefined && gross > p.maxNotional) {
      return { reason: 'MAX_NOTIONAL_EXCEEDED', detail: `gross notional ${gross.toFixed(2)} exceeds ${p.maxNotional}` };
    }
    if (p.maxLeverage !== undefined && fig.equity > 0 && gross / fig.equity > p.maxLeverage) {
      return { reason: 'MAX_LEVERAGE_EXCEEDED', detail: `leverage ${(gross / fig.equity).toFixed(2)} exceeds ${p.maxLeverage}` };
    }
    return undefined;
  },
};
