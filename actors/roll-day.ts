/**
 * The trading-day roll at a reset instant: new floors from the day-end
 * figures, day orders expired, a soft lock released. Pure state transition
 * over the actor's state; the actor calls it once per reset, in time order.
 */
import { nextReset } from './calendar.js';
import type { Figures } from './portfolio.js';
import type { Rule, RuleContext } from './rules/index.js';
import type { EventBody } from './types.js';

/** Roll `ctx.state` over its next reset; `fig` are the figures at that instant. */
export function rollDay(ctx: RuleContext, rules: readonly Rule[], fig: Figures, emit: (e: EventBody) => void): void {
  const s = ctx.state;
  s.dayIndex++;
  s.dayStartedAt = s.nextResetAt;
  s.dayStartBalance = s.balance;
  s.nextResetAt = nextReset(s.nextResetAt, ctx.tier.timezone, ctx.tier.resetTime);
  for (const rule of rules) rule.onDayRoll?.(ctx, fig);
  for (const id in s.orders) {
    const order = s.orders[id]!;
    if (order.tif === 'day') {
      order.status = 'expired';
      delete s.orders[id];
      emit({ type: 'order.expired', orderId: id });
    }
  }
  if (s.lockedBy !== undefined) {
    s.lockedBy = undefined;
    emit({ type: 'assessment.trading-unlocked' });
  }
  emit({
    type: 'assessment.day-started',
    dayIndex: s.dayIndex,
    balance: s.balance,
    equity: fig.equity,
    dailyFloor: s.rules.dailyFloor,
    maxLossFloor: s.rules.maxLossFloor,
  });
}
