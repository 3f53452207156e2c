import type { Rule } from './rule.js';

/**
 * Consistency (best-day rule): the best day's profit may be at most a share of
 * the total profit. It blocks passing and never fails the account. With an
 * equity target, open P&L counts towards today, since passing closes it today.
 */
export const consistency: Rule = {
  id: 'consistency',
  passCheck(ctx, fig) {
    const share = ctx.phase.rules.consistency!.maxBestDayShare;
    // On a balance target only closed P&L counts, so the verdict cannot change between fills.
    const open = ctx.phase.rules.profitTarget?.basis === 'equity' ? fig.unrealizedPnl : 0;
    const total = fig.balance + open - ctx.state.startingBalance;
    let best = ctx.state.dayIndex in ctx.state.dayPnl ? -Infinity : open;
    for (const key in ctx.state.dayPnl) {
      const day = Number(key);
      const pnl = ctx.state.dayPnl[day]! + (day === ctx.state.dayIndex ? open : 0);
      if (pnl > best) best = pnl;
    }
    if (total <= 0) return { met: false, detail: 'no profit yet' };
    const ratio = best / total;
    return {
      met: ratio <= share,
      detail: `best day ${best.toFixed(2)} is ${(ratio * 100).toFixed(1)}% of profit ${total.toFixed(2)} (max ${share * 100}%)`,
    };
  },
};
