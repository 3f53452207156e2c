import { limitAmount } from '../tier.js';
import type { Rule, RuleContext } from './rule.js';

function targetEquity(ctx: RuleContext): number {
  const p = ctx.phase.rules.profitTarget!;
  return ctx.state.startingBalance + limitAmount(p.target, ctx.state.startingBalance);
}

/**
 * Profit target on closed balance or on equity; the phase passes when it and
 * every other pass condition hold. On a balance target the account must also
 * be flat: passing on closed P&L while a losing position is open would end the
 * phase below its target once that position is closed.
 */
export const profitTarget: Rule = {
  id: 'profit-target',
  watchAbove(ctx) {
    return ctx.phase.rules.profitTarget!.basis === 'equity' ? targetEquity(ctx) : Infinity;
  },
  passCheck(ctx, fig) {
    const p = ctx.phase.rules.profitTarget!;
    const value = p.basis === 'equity' ? fig.equity : fig.balance;
    const target = targetEquity(ctx);
    const flat = p.basis === 'equity' || Object.keys(ctx.state.positions).length === 0;
    return {
      met: value >= target && flat,
      detail: `${p.basis} ${value.toFixed(2)} of target ${target.toFixed(2)}${flat ? '' : ', positions open'}`,
    };
  },
};
