import { DAY_MS } from '../calendar.js';
import type { Rule } from './rule.js';

/** Inactivity: the assessment expires after the tier's number of days without a new order. */
export const inactivity: Rule = {
  id: 'inactivity',
  nextDeadline(ctx) {
    return ctx.state.lastActivityAt + ctx.phase.rules.inactivity!.days * DAY_MS;
  },
  onClock(ctx, fig) {
    const deadline = this.nextDeadline!(ctx);
    if (ctx.now < deadline) return undefined;
    return {
      ruleId: 'inactivity', severity: 'hard', limit: deadline, value: ctx.now, outcome: 'expire',
      detail: `no order for ${ctx.phase.rules.inactivity!.days} days (last activity at ${new Date(ctx.state.lastActivityAt).toISOString()}); balance ${fig.balance.toFixed(2)}`,
    };
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
    return {
      ruleId: 'phase-time-limit', severity: 'hard', limit: deadline, value: ctx.now, outcome: 'expire',
      detail: `phase not passed within ${ctx.phase.maxDays} days`,
    };
  },
};
