/**
 * Draws and judges one chunk of paths into typed arrays. A chunk's numbers
 * depend only on the job and the chunk index (its own seeded generator), so
 * any number of workers produces the same records. See sim/README.md, "Life
 * of a path", for the semantics step by step.
 */
import { optimalBlockLength } from './block-length.js';
import { runParametricPath } from './parametric-path.js';
import { MINUTES_PER_DAY, PathJudge, UNDECIDED } from './path-judge.js';
import { Sfc32 } from './sfc32.js';
import { PathTally, recordFan, type ChunkRecords, type KernelPlan } from './path-tally.js';
import { OUTPUTS, type Output, type SimulationJob } from './simulation-spec.js';
import { KernelCache, kernelShape } from './tier-kernel.js';

export { PathTally, recordFan, type ChunkRecords, type KernelPlan, type Wants } from './path-tally.js';

/** Paths per chunk: fixed, so results do not depend on the pool size. */
export const CHUNK_SIZE = 4096;
/** Longest fan the report draws, in trades. */
export const MAX_FAN_STEPS = 250;

/** Observes a path as the judge sees it (the parity test replays it through the engine). */
export interface PathTrace {
  /** A trade at minute `t` while the path is live; `pnl` is NaN when no trade opened (a deadline passed, or trading was locked). */
  trade(path: number, t: number, pnl: number): void;
  /** The day horizon ended a live path at minute `t`. */
  end(path: number, t: number): void;
}

/** Derive the plan: block length, horizon, ruin level and the records the outputs need. */
export function planFor(job: SimulationJob): KernelPlan {
  const asked: readonly Output[] = job.outputs ?? OUTPUTS;
  const first = job.phases[job.from?.phaseIndex ?? 0]!;
  const start0 = job.from?.balance ?? first.startingBalance;
  const blockLength = job.method === 'block' ? (job.blockLength ?? optimalBlockLength(job.returns)) : NaN;
  const horizonTrades = job.horizon.trades ?? Infinity;
  return {
    job,
    returns: Float64Array.from(job.returns),
    tradesPerDay: Int32Array.from(job.tradesPerDay),
    blockLength,
    horizonTrades,
    horizonDays: job.horizon.days ?? Infinity,
    compound: job.sizing === 'compound',
    fanSteps: Math.min(Number.isFinite(horizonTrades) ? horizonTrades : MAX_FAN_STEPS, MAX_FAN_STEPS),
    ruinLevel:
      job.from !== undefined && first.maxLoss !== null ? job.from.maxLossFloor - start0 : -(first.maxLoss?.amount ?? first.startingBalance),
    trackRuin: job.ruin && asked.includes('riskOfRuin'),
    start0,
    fanPaths: asked.includes('fan') ? job.fanPaths : 0,
    wants: { passDay: asked.includes('daysToPass'), maxDrawdown: asked.includes('maxDrawdown'), finalPnl: asked.includes('finalPnl') },
  };
}

/** How to run a chunk. */
export interface ChunkOptions {
  /** Observe every judged trade (implies the reference loop). */
  readonly trace?: PathTrace;
  /**
   * Judge bootstrap paths with `PathJudge` (the readable reference) instead of the generated kernel.
   * @default false
   */
  readonly reference?: boolean;
  /** Generated kernels to reuse (a worker keeps one cache); omitted: a fresh one for this chunk. */
  readonly kernels?: KernelCache;
}

/** Run paths `[first, first + count)` of chunk `chunk`. */
export function runChunk(plan: KernelPlan, chunk: number, first: number, count: number, options: ChunkOptions = {}): ChunkRecords {
  const trace = options.trace;
  const reference = options.reference === true || trace !== undefined;
  const job = plan.job;
  const rng = new Sfc32(`${job.seed}/${chunk}`);
  const judge = new PathJudge(job.phases, job.method === 'parametric');
  const tally = new PathTally();
  const fanRows = Math.max(0, Math.min(count, plan.fanPaths - first));
  const width = plan.fanSteps + 1;
  const wants = plan.wants;
  const rec: ChunkRecords = {
    first,
    outcome: new Uint8Array(count),
    passDay: new Float64Array(wants.passDay ? count : 0),
    maxDrawdown: new Float64Array(wants.maxDrawdown ? count : 0),
    finalPnl: new Float64Array(wants.finalPnl ? count : 0),
    ruined: new Uint8Array(plan.trackRuin ? count : 0),
    fan: new Float64Array(fanRows * width),
    fanRows,
  };
  if (job.method !== 'parametric' && !reference) {
    judge.reset(job.from);
    const kernel = (options.kernels ?? new KernelCache()).get(kernelShape(plan, judge.phases, fanRows > 0));
    const state = new Int32Array(5);
    rng.saveState(state);
    kernel(
      judge.phases,
      judge,
      plan.returns,
      plan.tradesPerDay,
      plan,
      Math.round((job.from?.dayFraction ?? 0) * MINUTES_PER_DAY),
      state,
      rec,
      count,
    );
    rng.loadState(state);
    return rec;
  }
  for (let i = 0; i < count; i++) {
    judge.reset(job.from);
    tally.reset(i < fanRows ? i : -1);
    if (job.method === 'parametric') runParametricPath(plan, judge, tally, rng, rec);
    else runBootstrapPath(plan, judge, tally, rng, rec, trace, first + i);
    const verdict = judge.verdict < 0 ? UNDECIDED : judge.verdict;
    rec.outcome[i] = verdict;
    if (wants.passDay) rec.passDay[i] = verdict === 0 ? Math.floor(judge.verdictAt / MINUTES_PER_DAY) + 1 : NaN;
    if (wants.maxDrawdown) rec.maxDrawdown[i] = tally.drawdown / plan.start0;
    if (wants.finalPnl) rec.finalPnl[i] = judge.balance - judge.phaseStart;
    if (plan.trackRuin) rec.ruined[i] = tally.ruined ? 1 : 0;
    if (tally.fanRow >= 0) {
      const row = rec.fan.subarray(tally.fanRow * width, (tally.fanRow + 1) * width);
      const last = Math.min(tally.taken, plan.fanSteps);
      for (let k = last + 1; k < width; k++) row[k] = row[last]!;
      for (let k = 0; k < width; k++) row[k]! += plan.start0;
    }
  }
  return rec;
}

function runBootstrapPath(
  plan: KernelPlan,
  judge: PathJudge,
  tally: PathTally,
  rng: Sfc32,
  rec: ChunkRecords,
  trace: PathTrace | undefined,
  path: number,
): void {
  const returns = plan.returns;
  const nReturns = returns.length;
  const perDay = plan.tradesPerDay;
  const nDays = perDay.length;
  const block = !Number.isNaN(plan.blockLength);
  const pNew = block ? 1 / plan.blockLength : 1;
  const compound = plan.compound;
  const horizonTrades = plan.horizonTrades;
  const horizon = plan.horizonDays * MINUTES_PER_DAY;
  const start0 = plan.start0;
  const t0 = Math.round((plan.job.from?.dayFraction ?? 0) * MINUTES_PER_DAY);
  let idx = -1;
  for (let day = 0; ; day++) {
    if (day > 0 && judge.verdict < 0) judge.rollDay(0);
    const dayStart = day === 0 ? t0 : day * MINUTES_PER_DAY;
    if (dayStart >= horizon) {
      if (judge.verdict < 0) trace?.end(path, horizon);
      judge.clockAt(horizon);
      return;
    }
    const n = perDay[rng.index(nDays)]!;
    for (let j = 0; j < n; j++) {
      const t = dayStart + j + 1;
      if (t >= (day + 1) * MINUTES_PER_DAY || t >= horizon) break;
      // Stationary bootstrap: a new block with probability 1/L, else the next return in order.
      if (idx < 0 || !block || rng.next() < pNew) idx = rng.index(nReturns);
      else if (++idx === nReturns) idx = 0;
      const r = returns[idx]!;
      tally.taken++;
      if (judge.verdict < 0) {
        if (!judge.clockAt(t) && !judge.locked) {
          const pnl = r * judge.base(compound);
          trace?.trade(path, t, pnl);
          if (!judge.open(t)) {
            const ended = judge.mark(pnl, pnl, t);
            if (!ended) judge.close(pnl, t);
            tally.judged(pnl, pnl, judge.realized, ended);
            tally.cum += judge.realized;
          }
        } else trace?.trade(path, t, NaN);
      }
      const rp = r * (compound ? start0 + tally.ruinPnl : start0);
      tally.ruinPnl += rp;
      if (tally.ruinPnl < plan.ruinLevel) tally.ruined = true;
      recordFan(plan, tally, rec, tally.cum);
      // Decided and, if the ruin account trades on, ruined too: nothing left to observe.
      if (tally.taken >= horizonTrades || (judge.verdict >= 0 && (!plan.trackRuin || tally.ruined))) return;
    }
  }
}
