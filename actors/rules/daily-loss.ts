import { figures, markPrice } from '../portfolio.js';
import { limitAmount } from '../tier.js';
import { stopRisk } from './risk-per-trade.js';
import type { Refusal, Rule, RuleContext, StopChange } from './rule.js';

function params(ctx: RuleContext) {
  return ctx.phase.rules.dailyLoss!;
}

function amount(ctx: RuleContext, base: number): number {
  const p = params(ctx);
  return limitAmount(p.limit, p.pctOf === 'base' ? base : ctx.state.startingBalance);
}

/**
 * Daily loss: equity must stay at or above the day's floor. The floor is set at
 * the reset from the prior day-end balance (or the higher of balance and equity)
 * minus the limit, so an overnight loss can breach at the reset itself.
 */
export const dailyLoss: Rule = {
  id: 'daily-loss',
  onPhaseStart(ctx) {
    ctx.state.rules.dailyFloor = ctx.state.startingBalance - amount(ctx, ctx.state.startingBalance);
  },
  onDayRoll(ctx, fig) {
    const base = params(ctx).basis === 'balance' ? fig.balance : Math.max(fig.balance, fig.equity);
    ctx.state.rules.dailyFloor = base - amount(ctx, base);
  },
  floor(ctx) {
    return ctx.state.rules.dailyFloor;
  },
  onEquity(ctx, fig) {
    const floor = ctx.state.rules.dailyFloor;
    if (fig.equity >= floor) return undefined;
    const severity = params(ctx).severity;
    return {
      ruleId: 'daily-loss',
      severity,
      limit: floor,
      value: fig.equity,
      outcome: severity === 'hard' ? 'fail' : 'lock',
      detail: `equity ${fig.equity.toFixed(2)} fell below the daily floor ${floor.toFixed(2)}`,
    };
  },
  checkOrder(ctx, intent, fig) {
    return refuseIfRiskExceedsRoom(intent.stopLoss, intent, fig.equity - intent.fee, ctx.state.rules.dailyFloor, 'daily');
  },
  checkProtection(ctx, change) {
    return refuseIfStopsCrossFloor(ctx, change, ctx.state.rules.dailyFloor, 'daily');
  },
};

/**
 * Shared by the floor rules: a stop placed, moved, resized or cancelled so that the position's stops,
 * filling from the current mark, would take equity below the floor is refused, unless the change lowers that
 * loss or covers more of the position.
 */
export function refuseIfStopsCrossFloor(ctx: RuleContext, change: StopChange, floor: number, which: string): Refusal | undefined {
  const pos = ctx.state.positions[change.symbol];
  if (pos === undefined) return undefined;
  const mark = markPrice(pos, ctx.market.quote(change.symbol));
  const before = stopRisk(pos, change.before, mark);
  const { risk: after, uncovered } = stopRisk(pos, change.after, mark);
  // Covering more of the position is never refused: without a stop the floor itself is the limit.
  if (after <= before.risk + 1e-9 || uncovered < before.uncovered - 1e-9) return undefined;
  const equity = figures(ctx.state, ctx.market, ctx.tier.leverage).equity;
  if (equity - after >= floor) return undefined;
  return {
    reason: 'RULE_WOULD_BE_BREACHED',
    detail: `a loss of ${after.toFixed(2)} to the stops would take equity below the ${which} floor ${floor.toFixed(2)}`,
  };
}

/** Shared by the floor rules: an order whose stop-loss or fee alone would cross the floor is refused. */
export function refuseIfRiskExceedsRoom(
  stopLoss: number | undefined,
  intent: { readonly qty: number; readonly price: number; readonly reduceOnly: boolean; readonly side: 'buy' | 'sell' },
  equityAfterFee: number,
  floor: number,
  which: string,
) {
  if (intent.reduceOnly) return undefined;
  const risk =
    stopLoss === undefined ? 0 : Math.max(0, (intent.side === 'buy' ? intent.price - stopLoss : stopLoss - intent.price) * intent.qty);
  if (equityAfterFee - risk >= floor) return undefined;
  return {
    reason: 'RULE_WOULD_BE_BREACHED' as const,
    detail: `a loss of ${risk.toFixed(2)} to the stop plus fees would take equity below the ${which} floor ${floor.toFixed(2)}`,
  };
}
