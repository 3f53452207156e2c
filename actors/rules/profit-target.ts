import { limitAmount } from '../tier.js';
import type { Rule, RuleContext } from './rule.js';

function targetEquity(ctx: RuleContext): number {
  const p = ctx.phase.rules.profitTarget!;
  return ctx.state.startingBalance + limitAmount(p.target, ctx.state.startingBalance);
}

/** Profit target on closed balance or on equity; the phase passes when it and every other pass condition hold. */
export const profitTarget: Rule = {
  id: 'profit-target',
  watchAbove(ctx) {
    return ctx.phase.rules.profitTarget!.basis === 'equity' ? targetEquity(ctx) : Infinity;
  },
  passCheck(ctx, fig) {
    const p = ctx.phase.rules.profitTarget!;
    const value = p.basis === 'equity' ? fig.equity : fig.balance;
    const target = targetEquity(ctx);
    return { met: value >= target, detail: `${p.basis} ${value.toFixed(2)} of target ${target.toFixed(2)}` };
  },
};
