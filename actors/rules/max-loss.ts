import { limitAmount } from '../tier.js';
import { refuseIfRiskExceedsRoom, refuseIfStopsCrossFloor } from './daily-loss.js';
import type { Rule, RuleContext } from './rule.js';

function params(ctx: RuleContext) {
  return ctx.phase.rules.maxLoss!;
}

function lockLevel(ctx: RuleContext): number {
  const lock = params(ctx).lock;
  if (lock === 'none') return Infinity;
  return ctx.state.startingBalance + (lock === 'start' ? 0 : lock.startPlus);
}

/** Move a trailing floor up to `highWater − limit`, never down, stopping at the lock level. */
function trail(ctx: RuleContext): void {
  const r = ctx.state.rules;
  if (r.floorLocked) return;
  const lock = lockLevel(ctx);
  const candidate = Math.min(r.highWater - limitAmount(params(ctx).limit, ctx.state.startingBalance), lock);
  if (candidate > r.maxLossFloor) r.maxLossFloor = candidate;
  if (r.maxLossFloor >= lock) r.floorLocked = true;
}

/**
 * Maximum loss: a static floor (start − limit), a floor trailing the highest
 * day-end balance, or one trailing peak equity including open P&L. Trailing
 * floors only rise, and stop at the lock level when the tier sets one.
 */
export const maxLoss: Rule = {
  id: 'max-loss',
  onPhaseStart(ctx) {
    const r = ctx.state.rules;
    r.highWater = ctx.state.startingBalance;
    r.maxLossFloor = ctx.state.startingBalance - limitAmount(params(ctx).limit, ctx.state.startingBalance);
    r.floorLocked = params(ctx).mode === 'static';
  },
  onDayRoll(ctx, fig) {
    if (params(ctx).mode !== 'eod-trailing') return;
    // The day-end balance is the balance at the reset instant, before the new day begins.
    if (fig.balance > ctx.state.rules.highWater) ctx.state.rules.highWater = fig.balance;
    trail(ctx);
  },
  floor(ctx) {
    return ctx.state.rules.maxLossFloor;
  },
  watchAbove(ctx) {
    const r = ctx.state.rules;
    return params(ctx).mode === 'intraday-trailing' && !r.floorLocked ? r.highWater : Infinity;
  },
  onEquity(ctx, fig) {
    const r = ctx.state.rules;
    // A locked floor follows the peak no more, so the peak stops too: the state must not depend on how often equity is looked at.
    if (params(ctx).mode === 'intraday-trailing' && !r.floorLocked && fig.equity > r.highWater) {
      r.highWater = fig.equity;
      trail(ctx);
    }
    if (fig.equity >= r.maxLossFloor) return undefined;
    return {
      ruleId: 'max-loss',
      severity: 'hard',
      limit: r.maxLossFloor,
      value: fig.equity,
      outcome: 'fail',
      detail: `equity ${fig.equity.toFixed(2)} fell below the ${params(ctx).mode} max-loss floor ${r.maxLossFloor.toFixed(2)}`,
    };
  },
  checkOrder(ctx, intent, fig) {
    return refuseIfRiskExceedsRoom(intent.stopLoss, intent, fig.equity - intent.fee, ctx.state.rules.maxLossFloor, 'max-loss');
  },
  checkProtection(ctx, change) {
    return refuseIfStopsCrossFloor(ctx, change, ctx.state.rules.maxLossFloor, 'max-loss');
  },
};
