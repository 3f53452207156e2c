import { inWeeklyWindow, nextWeekPoint } from '../calendar.js';
import type { Rule } from './rule.js';

/**
 * Weekend flat: orders are refused inside the weekly window, working orders do
 * not fill inside it (reduce-only ones do, if the tier allows protective fills),
 * and positions still open when it starts are flattened (or breach, per tier).
 */
export const weekendFlat: Rule = {
  id: 'weekend-flat',
  checkOrder(ctx, intent) {
    const w = ctx.phase.rules.weekendFlat!;
    if (intent.reduceOnly || !inWeeklyWindow(ctx.now, ctx.tier.timezone, w.from, w.to)) return undefined;
    return {
      reason: 'WEEKEND_WINDOW',
      detail: `orders that add exposure are refused from ${dayName(w.from.day)} ${w.from.time} to ${dayName(w.to.day)} ${w.to.time} ${ctx.tier.timezone}`,
    };
  },
  holdsFill(ctx, order, at) {
    const w = ctx.phase.rules.weekendFlat!;
    return !(order.reduceOnly && w.protectiveFills) && inWeeklyWindow(at, ctx.tier.timezone, w.from, w.to);
  },
  nextDeadline(ctx) {
    // The window start at or after the last evaluation; `onClock` runs when the clock passes it.
    return nextWeekPoint(ctx.state.lastClockAt ?? ctx.state.createdAt, ctx.tier.timezone, ctx.phase.rules.weekendFlat!.from);
  },
  onClock(ctx, fig) {
    const w = ctx.phase.rules.weekendFlat!;
    const hasPositions = Object.keys(ctx.state.positions).length > 0;
    if (!hasPositions && Object.keys(ctx.state.orders).length === 0) return undefined;
    if (!inWeeklyWindow(ctx.now, ctx.tier.timezone, w.from, w.to)) return undefined;
    return {
      silent: !hasPositions,
      ruleId: 'weekend-flat',
      severity: w.action === 'breach' ? 'hard' : 'soft',
      limit: 0,
      value: fig.grossNotional,
      outcome: w.action === 'breach' ? 'fail' : 'flatten',
      detail: `positions open at the weekend window (${dayName(w.from.day)} ${w.from.time} ${ctx.tier.timezone})`,
    };
  },
};

/**
 * Blackout windows (news): new orders that add exposure are refused inside them,
 * and working orders do not fill inside them (reduce-only ones do, if the window allows protective fills).
 */
export const blackout: Rule = {
  id: 'blackout',
  holdsFill(ctx, order, at) {
    for (const b of ctx.phase.rules.blackouts!) {
      if (at < b.from || at >= b.to || (order.reduceOnly && b.protectiveFills)) continue;
      if (b.symbols === undefined || b.symbols.includes(order.symbol)) return true;
    }
    return false;
  },
  checkOrder(ctx, intent) {
    if (intent.reduceOnly) return undefined;
    for (const b of ctx.phase.rules.blackouts!) {
      if (ctx.now < b.from || ctx.now >= b.to) continue;
      if (b.symbols !== undefined && !b.symbols.includes(intent.instrument.symbol)) continue;
      return { reason: 'BLACKOUT_WINDOW', detail: `blackout${b.label ? ` '${b.label}'` : ''} until ${new Date(b.to).toISOString()}` };
    }
    return undefined;
  },
};

function dayName(d: number): string {
  return ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d]!;
}
