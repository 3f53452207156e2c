/**
 * A tier's phases reduced to the numbers a path judge needs. Rules a closed
 * trade cannot touch (windows, position limits, risk per trade) drop out;
 * the phases after the first one without a profit target drop out too, since
 * reaching that phase (funded) is the pass.
 */
import { limitAmount, type Phase, type Tier } from '../../actors/index.js';
import type { CompiledPhase } from './simulation-spec.js';

/** The judged phases of a tier, from `fromPhase` (a live assessment's current phase) on. */
export function compilePhases(tier: Tier): CompiledPhase[] {
  const out: CompiledPhase[] = [];
  for (const phase of tier.phases) {
    out.push(compilePhase(phase));
    if (phase.rules.profitTarget === undefined) break;
  }
  return out;
}

/** One phase's numbers. */
export function compilePhase(phase: Phase): CompiledPhase {
  const r = phase.rules;
  const start = phase.startingBalance;
  const lock = r.maxLoss?.lock;
  return {
    name: phase.name,
    startingBalance: start,
    target: r.profitTarget === undefined ? null : limitAmount(r.profitTarget.target, start),
    targetBasis: r.profitTarget?.basis ?? 'balance',
    daily:
      r.dailyLoss === undefined
        ? null
        : {
            amount: r.dailyLoss.pctOf === 'base' && 'pct' in r.dailyLoss.limit ? null : limitAmount(r.dailyLoss.limit, start),
            pctOfBase: r.dailyLoss.pctOf === 'base' && 'pct' in r.dailyLoss.limit ? r.dailyLoss.limit.pct : null,
            basis: r.dailyLoss.basis,
            severity: r.dailyLoss.severity,
          },
    maxLoss:
      r.maxLoss === undefined
        ? null
        : {
            amount: limitAmount(r.maxLoss.limit, start),
            mode: r.maxLoss.mode,
            lockLevel: lock === undefined || lock === 'none' ? null : start + (lock === 'start' ? 0 : lock.startPlus),
          },
    minTradingDays: r.minTradingDays?.days ?? 0,
    minTrades: r.minTrades?.count ?? 0,
    consistency: r.consistency?.maxBestDayShare ?? null,
    maxDays: phase.maxDays ?? null,
    inactivityDays: r.inactivity?.days ?? null,
  };
}
