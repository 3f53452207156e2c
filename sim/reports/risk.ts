/**
 * Risk over an assessment's life: how close equity came to each floor (the
 * headroom series, from the equity series' lows), which rule came closest,
 * and the Monte Carlo pass probability as it stood at the start of each day,
 * from the existing simulator with the history known on that day.
 */
import { DAY_MS, type Tier } from '../../actors/index.js';
import type { EquitySeries, DayRow, ViolationRow } from '../../persistence/index.js';
import { compilePhases } from '../montecarlo/compile-tier.js';
import type { Simulator } from '../montecarlo/ray-client.js';
import type { CompiledPhase, StartState } from '../montecarlo/simulation-spec.js';

export interface HeadroomPoint {
  readonly t: number;
  /** The lowest equity of the bucket. */
  readonly equity: number;
  readonly dailyFloor: number | null;
  readonly maxLossFloor: number | null;
  /** Equity minus the floor: room left before the rule breaks (negative: broken). */
  readonly dailyRoom: number | null;
  readonly maxLossRoom: number | null;
}

export interface ClosestApproach {
  readonly ruleId: 'daily-loss' | 'max-loss';
  readonly room: number;
  /** Room over the phase's starting balance. */
  readonly share: number;
  readonly at: number;
  readonly equity: number;
  readonly floor: number;
  /** Taken from a violation's evidence (exact) rather than the series. */
  readonly breached: boolean;
}

export interface DayEstimate {
  readonly phaseIndex: number;
  readonly dayIndex: number;
  readonly at: number;
  /** Pass probability of the whole assessment from that day's start, with its Wilson 95% interval; null with too little history. */
  readonly p: number | null;
  readonly lo: number | null;
  readonly hi: number | null;
  readonly paths: number;
  readonly note: string;
}

export interface RiskFigures {
  readonly headroom: readonly HeadroomPoint[];
  readonly closest: { readonly daily: ClosestApproach | null; readonly maxLoss: ClosestApproach | null };
  readonly closestRule: 'daily-loss' | 'max-loss' | null;
  readonly passProbability: readonly DayEstimate[];
  readonly method: string;
}

/**
 * Headroom from the series. A max-loss floor trailing intraday equity moves
 * between day starts: it is trailed here from the series' highs (so at the
 * series' resolution; a violation's own floor is exact).
 */
export function headroom(series: EquitySeries, tier: Tier | undefined): HeadroomPoint[] {
  let peak = -Infinity;
  let lastPhase = -1;
  return series.points.map((p) => {
    if (p.phaseIndex !== lastPhase) {
      peak = -Infinity;
      lastPhase = p.phaseIndex;
    }
    let maxLossFloor = p.maxLossFloor;
    const rule = tier?.phases[p.phaseIndex]?.rules.maxLoss;
    if (rule !== undefined && rule.mode === 'intraday-trailing' && maxLossFloor !== null) {
      peak = Math.max(peak, p.high);
      const phase = compilePhases(tier!)[p.phaseIndex];
      const amount = phase?.maxLoss?.amount ?? 0;
      const lock = phase?.maxLoss?.lockLevel ?? Infinity;
      maxLossFloor = Math.max(maxLossFloor, Math.min(peak - amount, lock));
    }
    return {
      t: p.t,
      equity: p.low,
      dailyFloor: p.dailyFloor,
      maxLossFloor,
      dailyRoom: p.dailyFloor === null ? null : p.low - p.dailyFloor,
      maxLossRoom: maxLossFloor === null ? null : p.low - maxLossFloor,
    };
  });
}

/** The closest approach to each floor: a violation if there was one, else the series' least room. */
export function closestApproaches(
  points: readonly HeadroomPoint[],
  violations: readonly ViolationRow[],
  startingBalance: (phaseIndex: number) => number,
  phaseOf: (t: number) => number,
): RiskFigures['closest'] {
  const pick = (ruleId: 'daily-loss' | 'max-loss'): ClosestApproach | null => {
    let best: ClosestApproach | null = null;
    for (const v of violations) {
      if (v.violation.ruleId !== ruleId) continue;
      const room = v.violation.value - v.violation.limit;
      if (best === null || room < best.room) {
        best = {
          ruleId,
          room,
          share: room / startingBalance(v.phaseIndex),
          at: v.at,
          equity: v.violation.equity,
          floor: v.violation.limit,
          breached: true,
        };
      }
    }
    if (best !== null) return best;
    for (const p of points) {
      const room = ruleId === 'daily-loss' ? p.dailyRoom : p.maxLossRoom;
      const floor = ruleId === 'daily-loss' ? p.dailyFloor : p.maxLossFloor;
      if (room === null || floor === null) continue;
      if (best === null || room < best.room)
        best = { ruleId, room, share: room / startingBalance(phaseOf(p.t)), at: p.t, equity: p.equity, floor, breached: false };
    }
    return best;
  };
  return { daily: pick('daily-loss'), maxLoss: pick('max-loss') };
}

/** The rule with the least room (as a share of the account). */
export function closestRule(c: RiskFigures['closest']): 'daily-loss' | 'max-loss' | null {
  if (c.daily === null) return c.maxLoss === null ? null : 'max-loss';
  if (c.maxLoss === null) return 'daily-loss';
  return c.maxLoss.share < c.daily.share ? 'max-loss' : 'daily-loss';
}

export interface PassByDayOptions {
  readonly assessmentId: string;
  readonly tier: Tier;
  readonly days: readonly DayRow[];
  readonly simulator: Simulator;
  /** Paths per day. @default 2_000 */
  readonly paths?: number;
  /** Days with a booked result needed before an estimate. @default 3 */
  readonly minHistory?: number;
  /** Most days estimated (evenly spread, the last day always in). @default 60 */
  readonly maxEstimates?: number;
  readonly signal?: AbortSignal;
}

/**
 * The pass probability as of each day's start: the simulator run from the
 * state the day opened in (balance, floors, trading days and trades so far,
 * past days' results), resampling the daily results known by then (one
 * trade a day, as the live estimate does). Seeded by assessment and day, so
 * the same history gives the same figures.
 */
export async function passProbabilityByDay(o: PassByDayOptions): Promise<DayEstimate[]> {
  const phases = compilePhases(o.tier);
  const days = o.days.filter((d) => d.phaseIndex < phases.length && phases[d.phaseIndex]!.target !== null);
  const max = o.maxEstimates ?? 60;
  const chosen = days.length <= max ? days : Array.from({ length: max }, (_, i) => days[Math.round((i * (days.length - 1)) / (max - 1))]!);
  const out: DayEstimate[] = [];
  for (const d of chosen) {
    if (o.signal?.aborted === true) break;
    const before = o.days.filter((x) => x.startedAt < d.startedAt || (x.startedAt === d.startedAt && x.phaseIndex < d.phaseIndex));
    const booked = before.filter((x) => x.realizedPnl !== 0);
    const base = { phaseIndex: d.phaseIndex, dayIndex: d.dayIndex, at: d.startedAt };
    if (booked.length < (o.minHistory ?? 3)) {
      out.push({
        ...base,
        p: null,
        lo: null,
        hi: null,
        paths: 0,
        note: `${booked.length} days with a result by then; ${o.minHistory ?? 3} are needed`,
      });
      continue;
    }
    const returns = booked.map((x) => x.realizedPnl / phases[x.phaseIndex]!.startingBalance);
    const from = startState(d, o.days, phases[d.phaseIndex]!);
    const remaining = phases
      .slice(d.phaseIndex)
      .filter((p) => p.target !== null)
      .map((p, i) => Math.max(1, (p.maxDays ?? Math.max(30, before.length)) - (i === 0 && p.maxDays !== null ? from.daysElapsed : 0)))
      .reduce((a, b) => a + b, 0);
    const result = await o.simulator.run(
      {
        seed: `${o.assessmentId}/day/${d.phaseIndex}/${d.dayIndex}`,
        paths: o.paths ?? 2_000,
        method: 'block',
        returns,
        tradesPerDay: before.map((x) => (x.realizedPnl !== 0 ? 1 : 0)),
        horizon: { days: Math.max(1, remaining) },
        phases,
        from,
        fanPaths: 0,
        ruin: false,
        outputs: [],
      },
      o.signal === undefined ? {} : { signal: o.signal },
    );
    out.push({ ...base, p: result.pass.p, lo: result.pass.lo, hi: result.pass.hi, paths: result.paths, note: '' });
  }
  return out;
}

/** The state day `d` opened in, from the days before it in its phase. */
function startState(d: DayRow, all: readonly DayRow[], phase: CompiledPhase): StartState {
  const prior = all.filter((x) => x.phaseIndex === d.phaseIndex && x.dayIndex < d.dayIndex);
  const phaseStart = prior[0]?.startedAt ?? d.startedAt;
  const lastTrade = [...prior].reverse().find((x) => x.tradesOpened > 0);
  const lock = phase.maxLoss?.lockLevel ?? null;
  const maxLossFloor = d.maxLossFloor ?? -1e300;
  const eodHigh = Math.max(phase.startingBalance, ...prior.map((x) => x.endBalance ?? x.startBalance));
  const highWater = phase.maxLoss?.mode === 'intraday-trailing' ? maxLossFloor + (phase.maxLoss.amount ?? 0) : eodHigh;
  const daysElapsed = Math.max(0, (d.startedAt - phaseStart) / DAY_MS);
  return {
    phaseIndex: d.phaseIndex,
    balance: d.startBalance,
    daysElapsed,
    dayFraction: 0,
    daysSinceActivity: lastTrade === undefined ? daysElapsed : Math.max(0, (d.startedAt - lastTrade.startedAt) / DAY_MS),
    dailyFloor: d.dailyFloor ?? -1e300,
    maxLossFloor,
    highWater,
    floorLocked: phase.maxLoss === null || phase.maxLoss.mode === 'static' || (lock !== null && maxLossFloor >= lock),
    tradingDays: prior.filter((x) => x.tradesOpened > 0).length,
    trades: prior.reduce((a, x) => a + x.tradesOpened, 0),
    pastDayPnl: prior.filter((x) => x.realizedPnl !== 0).map((x) => x.realizedPnl),
    todayPnl: null,
    tradedToday: false,
    lockedToday: false,
  };
}
