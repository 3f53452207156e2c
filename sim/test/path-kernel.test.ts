import assert from 'node:assert/strict';
import { test } from 'node:test';
import seedrandom from 'seedrandom';
import { presetTiers } from '../../actors/index.js';
import { compilePhases } from '../montecarlo/compile-tier.js';
import { CHUNK_SIZE, planFor, runChunk, type ChunkRecords } from '../montecarlo/path-kernel.js';
import { InvalidJobError, SimPool, SimulationCancelledError } from '../montecarlo/sim-pool.js';
import { SimulationJob, type CompiledPhase, type SimulationJobInput } from '../montecarlo/simulation-spec.js';

const tiers = presetTiers();

function history(seed: string, n = 120): number[] {
  const rng = seedrandom(seed);
  return Array.from({ length: n }, () => (rng() < 0.5 ? 1 : -1) * (0.002 + rng() * 0.01));
}

function sameRecords(a: ChunkRecords, b: ChunkRecords, where: string): void {
  assert.deepEqual(a.outcome, b.outcome, `${where}: outcomes`);
  assert.deepEqual(a.passDay, b.passDay, `${where}: pass days`);
  assert.deepEqual(a.maxDrawdown, b.maxDrawdown, `${where}: drawdowns`);
  assert.deepEqual(a.finalPnl, b.finalPnl, `${where}: final P&L`);
  assert.deepEqual(a.ruined, b.ruined, `${where}: ruin`);
  assert.deepEqual(a.fan, b.fan, `${where}: fan`);
}

test('the bootstrap kernel generated for each tier writes exactly the records of the reference judge, for every preset, method, sizing and start', () => {
  const rng = seedrandom('inline');
  let cases = 0;
  for (const tier of tiers) {
    const phases = compilePhases(tier);
    for (const method of ['iid', 'block'] as const) {
      for (const sizing of ['fixed', 'compound'] as const) {
        const fromLive = rng() < 0.5;
        const p0 = phases[0]!;
        const job = SimulationJob.parse({
          seed: `s${cases}`,
          paths: 600,
          method,
          sizing,
          returns: history(`h${cases}`),
          tradesPerDay: [0, 1, 2, 4, 7],
          horizon: rng() < 0.5 ? { trades: 80 } : { days: 20 + Math.floor(rng() * 20), trades: rng() < 0.5 ? 150 : undefined },
          phases: phases.map(
            (p): CompiledPhase => ({
              ...p,
              inactivityDays: p.inactivityDays ?? (rng() < 0.3 ? 2 : null),
              maxDays: p.maxDays ?? (rng() < 0.3 ? 15 : null),
            }),
          ),
          from: fromLive
            ? {
                phaseIndex: 0,
                balance: p0.startingBalance * 1.02,
                daysElapsed: 3.4,
                dayFraction: 0.4,
                daysSinceActivity: 0.5,
                dailyFloor: p0.startingBalance * 0.98,
                maxLossFloor: p0.startingBalance * 0.93,
                highWater: p0.startingBalance * 1.02,
                floorLocked: false,
                tradingDays: 2,
                trades: 6,
                pastDayPnl: [800, 1_200],
                todayPnl: 200,
                tradedToday: true,
                lockedToday: false,
              }
            : undefined,
        });
        const plan = planFor(job);
        sameRecords(
          runChunk(plan, 3, 0, job.paths),
          runChunk(plan, 3, 0, job.paths, { reference: true }),
          `${tier.id} ${method} ${sizing} from=${fromLive}`,
        );
        cases++;
      }
    }
  }
  assert.equal(cases, tiers.length * 4);
});

test('a block bootstrap keeps streaks that an IID bootstrap breaks', () => {
  // A history of long winning and losing runs: blocks keep the runs, so drawdowns are deeper.
  const returns = Array.from({ length: 400 }, (_, i) => (Math.floor(i / 20) % 2 === 0 ? 0.004 : -0.004));
  const phases = compilePhases(tiers.find((t) => t.id === 'two-step-100k')!);
  const base = { seed: 'streaks', paths: 4000, returns, tradesPerDay: [3], horizon: { trades: 100 }, phases };
  const iid = runChunk(planFor(SimulationJob.parse({ ...base, method: 'iid' })), 0, 0, 4000);
  const blockPlan = planFor(SimulationJob.parse({ ...base, method: 'block' }));
  const block = runChunk(blockPlan, 0, 0, 4000);
  assert.ok(blockPlan.blockLength > 5, `block length ${blockPlan.blockLength}`);
  const mean = (a: Float64Array) => a.reduce((s, x) => s + x, 0) / a.length;
  assert.ok(mean(block.maxDrawdown) > 1.5 * mean(iid.maxDrawdown), `block ${mean(block.maxDrawdown)} vs iid ${mean(iid.maxDrawdown)}`);
});

const jobInput: SimulationJobInput = {
  seed: 'pool',
  paths: CHUNK_SIZE * 5 + 123,
  method: 'block',
  returns: history('pool'),
  tradesPerDay: [0, 1, 3, 5],
  horizon: { trades: 100 },
  phases: compilePhases(tiers.find((t) => t.id === 'one-step-50k')!),
};

test('the same seed gives the same result on one worker and on three', async () => {
  const one = new SimPool({ workers: 1 });
  const three = new SimPool({ workers: 3 });
  try {
    const [a, b] = await Promise.all([one.run(jobInput), three.run(jobInput)]);
    assert.deepEqual({ ...a, elapsedMs: 0 }, { ...b, elapsedMs: 0 });
    assert.equal(a.paths, CHUNK_SIZE * 5 + 123);
    const c = await one.run({ ...jobInput, seed: 'other' });
    assert.notDeepEqual(c.outcomes, a.outcomes);
  } finally {
    await Promise.all([one.close(), three.close()]);
  }
});

test('the pool reports progress chunk by chunk and stops when cancelled', async () => {
  const pool = new SimPool({ workers: 2 });
  try {
    const seen: number[] = [];
    await pool.run(jobInput, { onProgress: (done) => seen.push(done) });
    assert.equal(seen.length, 6);
    assert.equal(seen.at(-1), CHUNK_SIZE * 5 + 123);
    const controller = new AbortController();
    const running = pool.run({ ...jobInput, paths: 2_000_000 }, { signal: controller.signal, onProgress: () => controller.abort() });
    await assert.rejects(running, SimulationCancelledError);
    // The pool still serves after a cancellation.
    assert.equal((await pool.run({ ...jobInput, paths: 100 })).paths, 100);
  } finally {
    await pool.close();
  }
});

test('a job that asks for fewer outputs gets exactly the figures it asked for, and null for the rest', async () => {
  const pool = new SimPool({ workers: 2 });
  try {
    for (const method of ['block', 'parametric'] as const) {
      const job: SimulationJobInput = {
        ...jobInput,
        method,
        paths: CHUNK_SIZE + 321,
        fanPaths: 30,
        ...(method === 'parametric' ? { model: { mu: 0.2, sigma: 0.3, exposure: 2, holdDays: 1 }, horizon: { days: 5 } } : {}),
      };
      // Without the ruin account a path stops drawing at its verdict, so the next paths draw other numbers:
      // a job that leaves the risk of ruin out answers as one with `ruin: false`.
      const [withRuin, withoutRuin] = [await pool.run(job), await pool.run({ ...job, ruin: false })];
      for (const outputs of [[], ['daysToPass'], ['maxDrawdown', 'finalPnl'], ['riskOfRuin', 'fan']] as const) {
        const some = await pool.run({ ...job, outputs: [...outputs] });
        const asked = (o: string) => (outputs as readonly string[]).includes(o);
        const where = `${method} outputs [${outputs.join(', ')}]`;
        const all = asked('riskOfRuin') ? withRuin : withoutRuin;
        assert.deepEqual(some.outcomes, all.outcomes, `${where}: outcomes`);
        assert.deepEqual(some.breakdown, all.breakdown, `${where}: breakdown`);
        assert.deepEqual(some.daysToPass, asked('daysToPass') ? all.daysToPass : null, `${where}: days to pass`);
        assert.deepEqual(some.maxDrawdown, asked('maxDrawdown') ? all.maxDrawdown : null, `${where}: drawdown`);
        assert.deepEqual(some.drawdownHistogram, asked('maxDrawdown') ? all.drawdownHistogram : null, `${where}: histogram`);
        assert.deepEqual(some.finalPnl, asked('finalPnl') ? all.finalPnl : null, `${where}: final P&L`);
        assert.deepEqual(some.riskOfRuin, asked('riskOfRuin') ? all.riskOfRuin : null, `${where}: ruin`);
        assert.deepEqual(some.fan.samples.length, asked('fan') ? 20 : 0, `${where}: fan`);
        if (asked('fan')) assert.deepEqual(some.fan, all.fan, `${where}: fan`);
      }
    }
  } finally {
    await pool.close();
  }
});

test('the generated kernel without the drawdown, pass days or final P&L writes the same outcomes as the reference', () => {
  for (const tier of tiers) {
    const job = SimulationJob.parse({ ...jobInput, paths: 2000, method: 'iid', phases: compilePhases(tier), ruin: false, outputs: [] });
    const plan = planFor(job);
    sameRecords(runChunk(plan, 1, 0, job.paths), runChunk(plan, 1, 0, job.paths, { reference: true }), `${tier.id} outputs []`);
  }
});

test('a job with bad fields is refused with every field named', async () => {
  const pool = new SimPool({ workers: 1 });
  try {
    await assert.rejects(pool.run({ ...jobInput, paths: 0, returns: [], method: 'iid' }), (err: unknown) => {
      assert.ok(err instanceof InvalidJobError);
      assert.equal(err.code, 'INVALID_JOB');
      assert.match(err.message, /paths/);
      assert.match(err.message, /returns: method 'iid' needs at least one trade return/);
      return true;
    });
  } finally {
    await pool.close();
  }
});

test('a parametric path locked for the day without a verdict moves on to the next day, with or without the ruin account', async () => {
  const pool = new SimPool({ workers: 2 });
  try {
    for (const tier of tiers) {
      for (const ruin of [false, true]) {
        const job: SimulationJobInput = {
          ...jobInput,
          paths: 300,
          method: 'parametric',
          model: { mu: 0.1, sigma: 0.6, exposure: 1, holdDays: 1 },
          horizon: { days: 30 },
          phases: compilePhases(tier),
          ruin,
        };
        // A path that stood still at the lock spun for ever: the deadline turns that into a failure, not a hang.
        const r = await pool.run(job, { signal: AbortSignal.timeout(30_000) });
        const judged = Object.values(r.outcomes).reduce((a, b) => a + b, 0);
        assert.equal(judged, 300, `${tier.id} ruin ${ruin}: every path judged`);
      }
    }
  } finally {
    await pool.close();
  }
});
