/**
 * The rule registry: which rule modules a phase runs, in evaluation order.
 * Adding a rule: write a module implementing {@link Rule}, add its parameters
 * to `PhaseRules` in tier.ts, and map them here.
 */
import type { PhaseRules } from '../tier.js';
import { consistency } from './consistency.js';
import { dailyLoss } from './daily-loss.js';
import { maxLoss } from './max-loss.js';
import { positionLimits } from './position-limits.js';
import { profitTarget } from './profit-target.js';
import { riskPerTrade } from './risk-per-trade.js';
import type { Rule } from './rule.js';
import { inactivity, phaseTimeLimit } from './time-limits.js';
import { minTrades, minTradingDays } from './trading-days.js';
import { blackout, weekendFlat } from './windows.js';

export type { Breach, OrderIntent, PassCheck, ProtectiveStop, Refusal, Rule, RuleContext, StopChange } from './rule.js';
export { isProtectiveStop, protectiveStops, recordFarthestStop } from './risk-per-trade.js';
export { refuseIfRiskExceedsRoom } from './daily-loss.js';

const REGISTRY: ReadonlyArray<readonly [keyof PhaseRules | 'maxDays', Rule]> = [
  ['maxLoss', maxLoss],
  ['dailyLoss', dailyLoss],
  ['profitTarget', profitTarget],
  ['riskPerTrade', riskPerTrade],
  ['positionLimits', positionLimits],
  ['minTradingDays', minTradingDays],
  ['minTrades', minTrades],
  ['consistency', consistency],
  ['inactivity', inactivity],
  ['weekendFlat', weekendFlat],
  ['blackouts', blackout],
];

/** The rules a phase runs: those whose parameters the phase sets, floors first. */
export function rulesFor(rules: PhaseRules, maxDays: number | undefined): Rule[] {
  const out = REGISTRY.filter(([key]) => rules[key as keyof PhaseRules] !== undefined).map(([, rule]) => rule);
  if (maxDays !== undefined) out.push(phaseTimeLimit);
  return out;
}
