import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presetTiers } from '../../actors/index.js';
import { compilePhases } from '../montecarlo/compile-tier.js';
import { PathJudge } from '../montecarlo/path-judge.js';
import { planFor } from '../montecarlo/path-kernel.js';
import { SimulationJob, type CompiledPhase } from '../montecarlo/simulation-spec.js';
import { KernelCache, kernelShape, kernelSource } from '../montecarlo/tier-kernel.js';

const SIMPLE: CompiledPhase = {
  name: 'challenge',
  startingBalance: 100_000,
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

function shapeOf(phases: CompiledPhase[], extra: Record<string, unknown> = {}) {
  const job = SimulationJob.parse({
    seed: 's',
    paths: 10,
    method: 'iid',
    returns: [0.01, -0.01],
    tradesPerDay: [1],
    horizon: { trades: 50 },
    phases,
    ...extra,
  });
  return kernelShape(planFor(job), new PathJudge(job.phases, false).phases, false);
}

test('a tier carries only the code of the rules it has', () => {
  const simple = kernelSource(shapeOf([SIMPLE], { ruin: false }));
  assert.doesNotMatch(simple, /bestPast = todayPnl/, 'no best-day bookkeeping without a consistency rule');
  assert.doesNotMatch(simple, /inactiveAt/, 'no deadline checks without deadlines');
  assert.doesNotMatch(simple, /highWater = (eq|bal)/, 'no trailing without a trailing floor');
  assert.doesNotMatch(simple, /ruinPnl \+=/, 'no ruin account when it is not asked for');
  const oneStep = kernelSource(shapeOf(compilePhases(presetTiers().find((t) => t.id === 'one-step-50k')!)));
  assert.match(oneStep, /bestPast = todayPnl/);
  assert.match(oneStep, /ruinPnl \+=/);
  assert.match(oneStep, /if \(bal > highWater\) highWater = bal/, 'EOD trailing at the day roll');
});

test('no number of the job is written into the generated source', () => {
  const odd = { ...SIMPLE, startingBalance: 123_457, target: 9_871, daily: { ...SIMPLE.daily!, amount: 4_321 } };
  const source = kernelSource(shapeOf([odd]));
  for (const n of ['123457', '9871', '4321']) assert.ok(!source.includes(n), `${n} in the source`);
});

test('kernels are generated once per shape and reused', () => {
  const cache = new KernelCache();
  const a = cache.get(shapeOf([SIMPLE]));
  const b = cache.get(shapeOf([{ ...SIMPLE, startingBalance: 50_000, target: 4_000 }]));
  assert.equal(a, b, 'the same rules with other numbers share a kernel');
  cache.get(shapeOf([SIMPLE], { ruin: false }));
  assert.equal(cache.size, 2);
});
