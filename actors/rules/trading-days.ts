import type { Rule } from './rule.js';

/** Minimum trading days: a day counts when a position is opened on it. */
export const minTradingDays: Rule = {
  id: 'min-trading-days',
  passCheck(ctx) {
    const need = ctx.phase.rules.minTradingDays!.days;
    const have = ctx.state.tradingDays.length;
    return { met: have >= need, detail: `${have} of ${need} trading days` };
  },
};

/** Minimum number of trades: positions opened in the phase. */
export const minTrades: Rule = {
  id: 'min-trades',
  passCheck(ctx) {
    const need = ctx.phase.rules.minTrades!.count;
    return { met: ctx.state.tradeCount >= need, detail: `${ctx.state.tradeCount} of ${need} trades` };
  },
};
