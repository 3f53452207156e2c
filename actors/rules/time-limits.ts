import { DAY_MS } from '../calendar.js';
import type { Rule, RuleContext } from './rule.js';
import type { Expiry } from '../types.js';

function expiry(ctx: RuleContext, ruleId: Expiry['ruleId'], deadline: number, days: number, detail: string): Expiry {
  return { ruleId, deadline, days, lastActivityAt: ctx.state.lastActivityAt, phaseStartedAt: ctx.state.phaseStartedAt, detail };
}

/** Inactivity: the assessment expires after the tier's number of days without a new order. */
export const inactivity: Rule = {
  id: 'inactivity',
  nextDeadline(ctx) {
    return ctx.state.lastActivityAt + ctx.phase.rules.inactivity!.days * DAY_MS;
  },
  onClock(ctx, fig) {
    const deadline = this.nextDeadline!(ctx);
    if (ctx.now < deadline) return undefined;
    const days = ctx.phase.rules.inactivity!.days;
    return expiry(
      ctx,
      'inactivity',
      deadline,
      days,
      `no order for ${days} days (last activity at ${new Date(ctx.state.lastActivityAt).toISOString()}); balance ${fig.balance.toFixed(2)}`,
    );
  },
};

/** Phase length: the phase expires if not passed within `maxDays`. */
export const phaseTimeLimit: Rule = {
  id: 'phase-time-limit',
  nextDeadline(ctx) {
    return ctx.state.phaseStartedAt + ctx.phase.maxDays! * DAY_MS;
  },
  onClock(ctx) {
    const deadline = this.nextDeadline!(ctx);
    if (ctx.now < deadline) return undefined;
    return expiry(ctx, 'phase-time-limit', deadline, ctx.phase.maxDays!, `phase not passed within ${ctx.phase.maxDays} days`);
  },
};
