/**
 * Monte Carlo bench: paths/s for 1,000,000 paths of 100 bootstrapped trades
 * on the worker pool, against a vectorized NumPy implementation of the same
 * IID bootstrap and the same simplified rules (static and daily floors, the
 * target) run in the same bench (bench/sim_numpy.py): first asking what
 * NumPy computes (paths end at their verdict), then trading every path on to
 * the horizon for the risk of ruin (NumPy's amount of drawing). Then one
 * worker against the pool, and the cost of the full rule sets of two presets
 * on the same work. Every figure is the median of the runs, taken in turn.
 * Beside the wall-clock rates, the CPU each path took on the pool's thread
 * and on the workers (from the threads' schedstat), which a shared machine's
 * load blurs much less.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { presetTiers } from '../actors/index.js';
import { compilePhases, SimPool, type CompiledPhase, type SimulationJobInput } from '../sim/index.js';
import { ThreadCpu } from './thread-cpu.js';

export interface SimBenchOptions {
  /** @default 1_000_000 */ readonly paths: number;
  /** @default 100 */ readonly trades: number;
  /** @default 2 */ readonly workers: number;
  /** @default 3 */ readonly repeats: number;
  /** @default 'python3' */ readonly python: string;
}

const START = 100_000;
const SIMPLE: CompiledPhase = {
  name: 'challenge',
  startingBalance: START,
  target: 10_000,
  targetBasis: 'balance',
  daily: { amount: 5_000, pctOfBase: null, basis: 'balance', severity: 'hard' },
  maxLoss: { amount: 10_000, mode: 'static', lockLevel: null },
  minTradingDays: 0,
  minTrades: 0,
  consistency: null,
  maxDays: null,
  inactivityDays: null,
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** A history with a slight edge: 52% winners of +0.3–1.2%, losers of −0.2–0.9%. */
function history(): { returns: number[]; tradesPerDay: number[] } {
  const rng = seedrandom('sim-bench');
  const returns = Array.from({ length: 500 }, () => (rng() < 0.52 ? 0.003 + rng() * 0.009 : -(0.002 + rng() * 0.007)));
  return { returns, tradesPerDay: [0, 1, 2, 3, 4, 5, 6] };
}

export async function runSimBench(o: SimBenchOptions): Promise<{ figures: Record<string, number>; runs: Record<string, number[]> }> {
  const h = history();
  const dir = mkdtempSync(join(tmpdir(), 'sim-bench-'));
  const file = join(dir, 'history.json');
  writeFileSync(file, JSON.stringify({ ...h, startingBalance: START, dailyLimit: 5_000, maxLoss: 10_000, target: 10_000 }));
  const script = fileURLToPath(new URL('./sim_numpy.py', import.meta.url));
  let numpy: { pathsPerSecond: number; runs: number[]; passProbability: number };
  try {
    const out = execFileSync(
      o.python,
      [
        script,
        '--paths',
        String(o.paths),
        '--trades',
        String(o.trades),
        '--seed',
        '1',
        '--returns-file',
        file,
        '--repeat',
        String(o.repeats),
      ],
      { encoding: 'utf8', maxBuffer: 1 << 20 },
    );
    numpy = JSON.parse(out.trim().split('\n').at(-1)!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const pool = new SimPool({ workers: o.workers });
  const single = o.workers > 1 ? new SimPool({ workers: 1 }) : undefined;
  // `ruin: false` asks what NumPy computes, the pass probability (`outputs: []`): a path ends at its verdict.
  // `ruin: true` trades every path on to the horizon for the risk of ruin, with every figure.
  const job = (phases: CompiledPhase[], seed: string, ruin: boolean): SimulationJobInput => ({
    seed,
    paths: o.paths,
    method: 'iid',
    ...h,
    horizon: { trades: o.trades },
    phases,
    fanPaths: 0,
    ruin,
    ...(ruin ? {} : { outputs: [] }),
  });
  const twoStepPhases = compilePhases(presetTiers().find((t) => t.id === 'two-step-100k')!);
  const oneStepPhases = compilePhases(presetTiers().find((t) => t.id === 'one-step-50k')!);
  const series = { js: [] as number[], jsRuin: [] as number[], single: [] as number[], twoStep: [] as number[], oneStep: [] as number[] };
  // CPU per path (ns): the pool's thread, and every other thread (the workers, and V8's helpers).
  const cpu = { jsMain: [] as number[], jsWorkers: [] as number[], singleMain: [] as number[], singleWorkers: [] as number[] };
  const threads = new ThreadCpu();
  let pass = 0;
  const timed = async (into: number[], on: SimPool, input: SimulationJobInput, cpuInto?: { main: number[]; workers: number[] }) => {
    const before = threads.read();
    const t = performance.now();
    const r = await on.run(input);
    into.push(o.paths / ((performance.now() - t) / 1000));
    const d = ThreadCpu.delta(before, threads.read());
    cpuInto?.main.push(d.main.runNs / o.paths);
    cpuInto?.workers.push(d.others.runNs / o.paths);
    return r;
  };
  try {
    // Warm-up: workers start and generate every kernel shape before any timed run.
    for (const phases of [[SIMPLE], twoStepPhases, oneStepPhases]) {
      for (const ruin of [false, true]) {
        await pool.run({ ...job(phases, 'warm', ruin), paths: 50_000 });
        await single?.run({ ...job(phases, 'warm', ruin), paths: 20_000 });
      }
    }
    // The measurements alternate, so a burst of load elsewhere spreads over all of them.
    for (let i = 0; i < o.repeats; i++) {
      pass = (await timed(series.js, pool, job([SIMPLE], `bench-${i}`, false), { main: cpu.jsMain, workers: cpu.jsWorkers })).pass.p;
      await timed(series.jsRuin, pool, job([SIMPLE], `bench-${i}`, true));
      if (single !== undefined)
        await timed(series.single, single, job([SIMPLE], `bench-${i}`, false), { main: cpu.singleMain, workers: cpu.singleWorkers });
      await timed(series.twoStep, pool, job(twoStepPhases, `bench-${i}`, true));
      await timed(series.oneStep, pool, job(oneStepPhases, `bench-${i}`, true));
    }
    const js = median(series.js);
    const jsRuin = median(series.jsRuin);
    // The two implementations draw different random numbers: their pass probabilities agree within sampling error.
    const se = Math.sqrt((pass * (1 - pass)) / o.paths + (numpy.passProbability * (1 - numpy.passProbability)) / o.paths);
    return {
      figures: {
        paths: o.paths,
        trades: o.trades,
        workers: o.workers,
        jsPathsPerSec: js,
        numpyPathsPerSec: numpy.pathsPerSecond,
        ratio: js / numpy.pathsPerSecond,
        jsRuinPathsPerSec: jsRuin,
        ruinRatio: jsRuin / numpy.pathsPerSecond,
        jsMainCpuNsPerPath: median(cpu.jsMain),
        jsWorkersCpuNsPerPath: median(cpu.jsWorkers),
        singleMainCpuNsPerPath: single === undefined ? NaN : median(cpu.singleMain),
        singleWorkersCpuNsPerPath: single === undefined ? NaN : median(cpu.singleWorkers),
        singleWorkerPathsPerSec: single === undefined ? js : median(series.single),
        workerScaling: single === undefined ? 1 : js / median(series.single),
        jsPass: pass,
        numpyPass: numpy.passProbability,
        passDiffInSe: Math.abs(pass - numpy.passProbability) / se,
        // Full rules against the simplified ones on the same work: every path trades on to the horizon.
        twoStepPathsPerSec: median(series.twoStep),
        oneStepPathsPerSec: median(series.oneStep),
        twoStepCost: jsRuin / median(series.twoStep),
        oneStepCost: jsRuin / median(series.oneStep),
      },
      runs: {
        js: series.js,
        jsRuin: series.jsRuin,
        single: series.single,
        numpy: numpy.runs,
        twoStep: series.twoStep,
        oneStep: series.oneStep,
      },
    };
  } finally {
    await Promise.all([pool.close(), single?.close()]);
  }
}
