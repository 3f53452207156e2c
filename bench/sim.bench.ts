/**
 * Monte Carlo bench: paths/s for 1,000,000 paths of 100 bootstrapped trades
 * on the worker pool, against a vectorized NumPy implementation of the same
 * IID bootstrap and the same simplified rules (static and daily floors, the
 * target) run in the same bench (bench/sim_numpy.py). Then the cost of the
 * full rule sets of two presets. Every figure is the median of the runs.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import seedrandom from 'seedrandom';
import { presetTiers } from '../actors/index.js';
import { compilePhases, SimPool, type CompiledPhase, type SimulationJobInput } from '../sim/index.js';

export interface SimBenchOptions {
  /** @default 1_000_000 */ readonly paths: number;
  /** @default 100 */ readonly trades: number;
  /** @default 2 */ readonly workers: number;
  /** @default 3 */ readonly repeats: number;
  /** @default 'python3' */ readonly python: string;
}

const START = 100_000;
const SIMPLE: CompiledPhase = {
  name: 'challenge', startingBalance: START, target: 10_000, targetBasis: 'balance',
  daily: { amount: 5_000, pctOfBase: null, basis: 'balance', severity: 'hard' },
  maxLoss: { amount: 10_000, mode: 'static', lockLevel: null },
  minTradingDays: 0, minTrades: 0, consistency: null, maxDays: null, inactivityDays: null,
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
    const out = execFileSync(o.python, [script, '--paths', String(o.paths), '--trades', String(o.trades), '--seed', '1', '--returns-file', file, '--repeat', String(o.repeats)], { encoding: 'utf8', maxBuffer: 1 << 20 });
    numpy = JSON.parse(out.trim().split('\n').at(-1)!);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const pool = new SimPool({ workers: o.workers });
  const job = (phases: CompiledPhase[], seed: string): SimulationJobInput => ({
    seed, paths: o.paths, method: 'iid', ...h, horizon: { trades: o.trades }, phases, fanPaths: 0,
  });
  const timed = async (phases: CompiledPhase[]) => {
    const rates: number[] = [];
    let pass = 0;
    for (let i = 0; i < o.repeats; i++) {
      const t = performance.now();
      const r = await pool.run(job(phases, `bench-${i}`));
      rates.push(o.paths / ((performance.now() - t) / 1000));
      pass = r.pass.p;
    }
    return { rates, pass };
  };
  try {
    // Warm-up: workers start and compile before any timed run.
    await pool.run({ ...job([SIMPLE], 'warm'), paths: 200_000 });
    const simple = await timed([SIMPLE]);
    const twoStep = await timed(compilePhases(presetTiers().find((t) => t.id === 'two-step-100k')!));
    const oneStep = await timed(compilePhases(presetTiers().find((t) => t.id === 'one-step-50k')!));
    const js = median(simple.rates);
    // The two implementations draw different random numbers: their pass probabilities agree within sampling error.
    const se = Math.sqrt((simple.pass * (1 - simple.pass)) / o.paths + (numpy.passProbability * (1 - numpy.passProbability)) / o.paths);
    return {
      figures: {
        paths: o.paths, trades: o.trades, workers: o.workers,
        jsPathsPerSec: js, numpyPathsPerSec: numpy.pathsPerSecond, ratio: js / numpy.pathsPerSecond,
        jsPass: simple.pass, numpyPass: numpy.passProbability, passDiffInSe: Math.abs(simple.pass - numpy.passProbability) / se,
        twoStepPathsPerSec: median(twoStep.rates), oneStepPathsPerSec: median(oneStep.rates),
        twoStepCost: js / median(twoStep.rates), oneStepCost: js / median(oneStep.rates),
      },
      runs: { js: simple.rates, numpy: numpy.runs, twoStep: twoStep.rates, oneStep: oneStep.rates },
    };
  } finally {
    await pool.close();
  }
}
