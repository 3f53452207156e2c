/**
 * The bootstrap kernel, generated per compiled tier: one JavaScript function
 * that runs a whole chunk of paths with the judge's state, the phase's
 * numbers and the sfc32 generator in local variables, and only the code of
 * the rules the tier has (a tier without consistency carries no best-day
 * bookkeeping, one without deadlines no clock checks). The rules come from
 * one description, the `KernelShape` of the job's compiled phases; the
 * semantics are those of `PathJudge`, and `sim/test/path-kernel.test.ts`
 * proves the generated kernel writes exactly the reference's records for
 * every preset, method, sizing and start.
 *
 * The source is built from fixed fragments chosen by booleans; every number
 * of the job reaches the kernel as an argument, never as source text.
 */
import type { ChunkRecords, KernelPlan } from './path-kernel.js';
import {
  DAILY_LOSS,
  INACTIVITY,
  MAX_LOSS,
  MINUTES_PER_DAY,
  MODE_EOD,
  MODE_INTRADAY,
  PASSED,
  PHASE_TIME_LIMIT,
  UNDECIDED,
  type PathJudge,
  type PhaseNumbers,
} from './path-judge.js';

/** Which pieces of code a job's kernel needs. */
export interface KernelShape {
  /** Stationary block bootstrap (else IID). */
  readonly block: boolean;
  /** More returns than the 16-bit index draw serves. */
  readonly wideIndex: boolean;
  readonly compound: boolean;
  /** Keep drawing after the verdict for the ruin account. */
  readonly ruin: boolean;
  /** Some paths of the chunk record a fan row. */
  readonly fan: boolean;
  /** Records wanted by the job's outputs (else neither written nor tracked). */
  readonly passDay: boolean;
  readonly maxDrawdown: boolean;
  readonly finalPnl: boolean;
  /** A horizon in days (else only in trades). */
  readonly days: boolean;
  readonly phases: number;
  readonly target: boolean;
  readonly equityTarget: boolean;
  readonly daily: boolean;
  readonly dailySoft: boolean;
  readonly eod: boolean;
  readonly intraday: boolean;
  /** Minimum trading days or trades. */
  readonly counts: boolean;
  readonly consistency: boolean;
  /** Phase length or inactivity deadlines. */
  readonly deadlines: boolean;
}

/** The shape of a plan's kernel for a chunk with or without fan rows. */
export function kernelShape(plan: KernelPlan, phases: readonly PhaseNumbers[], fan: boolean): KernelShape {
  const any = (f: (p: PhaseNumbers) => boolean) => phases.some(f);
  return {
    block: !Number.isNaN(plan.blockLength),
    wideIndex: plan.returns.length > 65_536,
    compound: plan.compound,
    ruin: plan.trackRuin,
    fan,
    passDay: plan.wants.passDay,
    maxDrawdown: plan.wants.maxDrawdown,
    finalPnl: plan.wants.finalPnl,
    days: Number.isFinite(plan.horizonDays),
    phases: phases.length,
    target: any((p) => p.targetLevel !== Infinity),
    equityTarget: any((p) => p.equityTarget && p.targetLevel !== Infinity),
    daily: any((p) => p.hasDaily),
    dailySoft: any((p) => p.hasDaily && p.dailySoft),
    eod: any((p) => p.hasMaxLoss && p.maxLossMode === MODE_EOD),
    intraday: any((p) => p.hasMaxLoss && p.maxLossMode === MODE_INTRADAY),
    counts: any((p) => p.minDays > 0 || p.minTrades > 0),
    consistency: any((p) => !Number.isNaN(p.consistency)),
    deadlines: any((p) => p.maxMinutes !== Infinity || p.inactivityMinutes !== Infinity),
  };
}

/** Runs paths `[0, count)` of a chunk into `rec`, advancing the generator state `rs`. */
export type ChunkKernel = (
  phases: readonly PhaseNumbers[],
  init: PathJudge,
  returns: Float64Array,
  perDay: Int32Array,
  plan: KernelPlan,
  t0: number,
  rs: Int32Array,
  rec: ChunkRecords,
  count: number,
) => void;

/** Compiled kernels by shape, kept by the caller (a worker holds one for its life). */
export class KernelCache {
  readonly #kernels = new Map<string, ChunkKernel>();

  /** The kernel of `shape`, generated on first use. */
  get(shape: KernelShape): ChunkKernel {
    const key = JSON.stringify(shape);
    let k = this.#kernels.get(key);
    if (k === undefined) {
      // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the source holds no input, only fixed fragments
      k = new Function('phases', 'init', 'returns', 'perDay', 'plan', 't0', 'rs', 'rec', 'count', kernelSource(shape)) as ChunkKernel;
      this.#kernels.set(key, k);
    }
    return k;
  }

  /** Kernels generated so far. */
  get size(): number {
    return this.#kernels.size;
  }
}

/** The kernel's body for `s` (exported for inspection and tests). */
export function kernelSource(s: KernelShape): string {
  const on = (flag: boolean, code: string) => (flag ? code : '');
  // sfc32 (`Sfc32.nextU32`) into `x`, in locals.
  const u32 =
    'x = (((a + b) | 0) + d) | 0; d = (d + 1) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (((c << 21) | (c >>> 11)) + x) | 0; x = x >>> 0;';
  // `Sfc32.index(n)` into `out`: Lemire's multiply-and-reject on 16-bit halves.
  const index = (out: string, n: string, thr: string) =>
    `for (;;) { if (half >= 0) { h = half; half = -1; } else { ${u32} h = x >>> 16; half = x & 0xffff; } m = h * ${n}; if ((m & 0xffff) >= ${n} || (m & 0xffff) >= ${thr}) { ${out} = m >>> 16; break; } }`;
  const drawReturn = s.wideIndex ? `{ ${u32} idx = Math.floor((x / 4294967296) * nReturns); }` : index('idx', 'nReturns', 'thrR');
  const counts = s.counts ? ' && tradingDays >= pMinDays && trades >= pMinTrades' : '';
  const consistent = s.consistency ? ' && consistent(pCons, bal - pStart, todayHas, todayPnl, bestPast)' : '';
  const trail = `if (!floorLocked) { const cand = Math.min(highWater - pMaxLoss, pLock); if (cand > maxFloor) maxFloor = cand; if (maxFloor >= pLock) floorLocked = true; }`;
  const dailyFrom = (base: string) => `(pHasDaily ? ${base} - (pDailyPct > 0 ? (${base} * pDailyPct) / 100 : pDailyAmount) : -Infinity)`;
  const loadPhase = (k: string) =>
    `p = phases[${k}]; pStart = p.start; pTarget = p.targetLevel; pEquity = p.equityTarget; pHasDaily = p.hasDaily; pDailyAmount = p.dailyAmount; pDailyPct = p.dailyPctOfBase; pSoft = p.dailySoft; pHasMax = p.hasMaxLoss; pMaxLoss = p.maxLossAmount; pMode = p.maxLossMode; pLock = p.lockLevel; pMinDays = p.minDays; pMinTrades = p.minTrades; pCons = p.consistency; pMaxMin = p.maxMinutes; pInact = p.inactivityMinutes;`;
  const pass =
    s.phases === 1
      ? `verdict = ${PASSED}; verdictAt = t;`
      : `
          const next = phaseIndex + 1;
          if (next >= nPhases || phases[next].targetLevel === Infinity) { verdict = ${PASSED}; verdictAt = t; }
          else {
            phaseIndex = next; ${loadPhase('next')}
            bal = pStart; dailyFloor = ${dailyFrom('pStart')}; maxFloor = pHasMax ? pStart - pMaxLoss : -Infinity; highWater = pStart;
            floorLocked = pMode !== ${MODE_EOD} && pMode !== ${MODE_INTRADAY};
            tradingDays = 0; trades = 0; tradedToday = false; todayPnl = 0; todayHas = false; bestPast = -Infinity; phaseStartedAt = t; lastActivity = t;
          }`;
  return `'use strict';
${on(
  s.consistency,
  `function consistent(limit, total, todayHas, todayPnl, bestPast) {
  if (limit !== limit) return true;
  if (total <= 0) return false;
  return (todayHas ? Math.max(bestPast, todayPnl) : Math.max(bestPast, 0)) / total <= limit;
}`,
)}
const nReturns = returns.length, nDays = perDay.length, nPhases = phases.length;
const thrR = (65536 - nReturns) % nReturns, thrD = (65536 - nDays) % nDays;
const pNew = 1 / plan.blockLength;
const horizonTrades = plan.horizonTrades, horizon = plan.horizonDays * ${MINUTES_PER_DAY}, start0 = plan.start0, ruinLevel = plan.ruinLevel;
const outcome = rec.outcome, passDay = rec.passDay, maxDrawdown = rec.maxDrawdown, finalPnl = rec.finalPnl, ruinedOut = rec.ruined, fan = rec.fan;
const fanSteps = plan.fanSteps, fanW = fanSteps + 1, fanRows = rec.fanRows;
let a = rs[0], b = rs[1], c = rs[2], d = rs[3], half = rs[4], x = 0, h = 0, m = 0;
// Typed from the start (a bare \`let\` starts undefined, and the optimizer then boxes the numbers of the hot loop).
let p = phases[0], pStart = 0, pTarget = 0, pEquity = false, pHasDaily = false, pDailyAmount = 0, pDailyPct = 0, pSoft = false, pHasMax = false;
let pMaxLoss = 0, pMode = 0, pLock = 0, pMinDays = 0, pMinTrades = 0, pCons = 0, pMaxMin = 0, pInact = 0;
for (let i = 0; i < count; i++) {
  let verdict = -1, verdictAt = NaN, phaseIndex = init.phaseIndex;
  ${loadPhase('phaseIndex')}
  let bal = init.balance, dailyFloor = init.dailyFloor, maxFloor = init.maxLossFloor, highWater = init.highWater, floorLocked = init.floorLocked;
  let locked = init.locked, tradingDays = init.tradingDays, trades = init.trades, tradedToday = init.tradedToday;
  let todayPnl = init.todayPnl, todayHas = init.todayHasPnl, bestPast = init.bestPastDay, phaseStartedAt = init.phaseStartedAt, lastActivity = init.lastActivityAt;
  let cum = 0, peak = 0, drawdown = 0, ruinPnl = 0, ruined = false, taken = 0, idx = -1, n = 0;
  const fanBase = ${s.fan ? 'i < fanRows ? i * fanW : -1' : '-1'};
  outer: for (let day = 0; ; day++) {
    if (day > 0 && verdict < 0) {
      // Day roll: the account is flat, so both daily bases are the balance.
      ${on(s.daily, `if (pHasDaily) dailyFloor = ${dailyFrom('bal')};`)}
      ${on(s.eod, `if (pMode === ${MODE_EOD}) { if (bal > highWater) highWater = bal; ${trail} }`)}
      ${on(s.consistency, 'if (todayHas && todayPnl > bestPast) bestPast = todayPnl; todayPnl = 0; todayHas = false;')}
      tradedToday = false;
      locked = false;
    }
    const dayStart = day === 0 ? t0 : day * ${MINUTES_PER_DAY};
    ${on(
      s.days,
      `if (dayStart >= horizon) {
      if (verdict < 0) {
        ${on(
          s.deadlines,
          `const inactiveAt = lastActivity + pInact, limitAt = phaseStartedAt + pMaxMin;
        if (horizon >= inactiveAt && inactiveAt <= limitAt) { verdict = ${INACTIVITY}; verdictAt = horizon; }
        else if (horizon >= limitAt) { verdict = ${PHASE_TIME_LIMIT}; verdictAt = horizon; }`,
        )}
      }
      break;
    }`,
    )}
    ${index('n', 'nDays', 'thrD')}
    n = perDay[n];
    // Trades at minutes dayStart + 1, + 2, ...: within the day, the horizon and the trade budget.
    let lim = (day + 1) * ${MINUTES_PER_DAY} - dayStart - 1;
    if (n < lim) lim = n;
    ${on(s.days, 'if (horizon - dayStart - 1 < lim) lim = horizon - dayStart - 1;')}
    if (horizonTrades - taken < lim) lim = horizonTrades - taken;
    for (let j = 0; j < lim; j++) {
      ${s.block ? `if (idx < 0) { ${drawReturn} } else { ${u32} if (x / 4294967296 < pNew) { ${drawReturn} } else if (++idx === nReturns) idx = 0; }` : drawReturn}
      const r = returns[idx];
      taken++;
      if (verdict < 0) {
        const t = dayStart + j + 1;
        ${on(
          s.deadlines,
          `const inactiveAt = lastActivity + pInact, limitAt = phaseStartedAt + pMaxMin;
        if (t >= inactiveAt && inactiveAt <= limitAt) { verdict = ${INACTIVITY}; verdictAt = t; }
        else if (t >= limitAt) { verdict = ${PHASE_TIME_LIMIT}; verdictAt = t; }
        else`,
        )} if (!locked) {
          const pnl = r * ${s.compound ? 'bal' : 'pStart'};
          ${on(s.deadlines, 'lastActivity = t;')}
          ${on(s.counts, 'trades++; if (!tradedToday) { tradedToday = true; tradingDays++; }')}
          // With an equity target met, the open itself can complete the counts and pass.
          let pass = ${s.equityTarget ? `pEquity && bal >= pTarget${counts}${consistent}` : 'false'};
          if (!pass) {
            const eq = bal + pnl;
            ${on(s.intraday, `if (pMode === ${MODE_INTRADAY} && eq > highWater) { highWater = eq; ${trail} }`)}
            bal = eq;
            ${on(s.consistency, 'if (pnl !== 0) { todayPnl += pnl; todayHas = true; }')}
            ${on(
              s.maxDrawdown,
              `const low = cum + pnl;
            if (peak - low > drawdown) drawdown = peak - low;
            cum = low;
            if (cum > peak) peak = cum;`,
            )}
            ${on(s.fan && !s.maxDrawdown, 'cum += pnl;')}
            if (eq < maxFloor) { verdict = ${MAX_LOSS}; verdictAt = t; }
            ${on(s.daily, `else if (eq < dailyFloor) { ${s.dailySoft ? 'if (pSoft) locked = true; else ' : ''}{ verdict = ${DAILY_LOSS}; verdictAt = t; } }`)}
            ${on(s.target, `else pass = bal >= pTarget${counts}${consistent};`)}
          }
          if (pass) { ${pass} }
        }
      }
      ${on(
        s.ruin,
        `ruinPnl += r * ${s.compound ? '(start0 + ruinPnl)' : 'start0'};
      if (ruinPnl < ruinLevel) ruined = true;`,
      )}
      ${on(s.fan, 'if (fanBase >= 0 && taken <= fanSteps) fan[fanBase + taken] = cum;')}
      // Decided: done, unless the ruin account still trades on (and has not been ruined yet).
      if (verdict >= 0${s.ruin ? ' && ruined' : ''}) break outer;
    }
    if (taken >= horizonTrades) break;
  }
  outcome[i] = verdict < 0 ? ${UNDECIDED} : verdict;
  ${on(s.passDay, `passDay[i] = verdict === ${PASSED} ? Math.floor(verdictAt / ${MINUTES_PER_DAY}) + 1 : NaN;`)}
  ${on(s.maxDrawdown, 'maxDrawdown[i] = drawdown / start0;')}
  ${on(s.finalPnl, 'finalPnl[i] = bal - pStart;')}
  ${on(s.ruin, 'ruinedOut[i] = ruined ? 1 : 0;')}
  ${on(
    s.fan,
    `if (fanBase >= 0) {
    const last = taken < fanSteps ? taken : fanSteps;
    for (let k = last + 1; k < fanW; k++) fan[fanBase + k] = fan[fanBase + last];
    for (let k = 0; k < fanW; k++) fan[fanBase + k] += start0;
  }`,
  )}
  // The generator's state goes back after every path, inside the loop: a store after the loop has no type
  // feedback when the loop is compiled on stack (OSR), and deoptimized the kernel at the end of every chunk.
  rs[0] = a; rs[1] = b; rs[2] = c; rs[3] = d; rs[4] = half;
}
`;
}
