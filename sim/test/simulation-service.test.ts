import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { presetTiers } from '../../actors/index.js';
import { Harness, DAY } from '../../actors/test/harness.js';
import { serviceGate } from '../../engine/testing/index.js';
import { migrate, PgSimulationStore } from '../../persistence/index.js';
import { LiveEstimator, type LiveEstimate } from '../montecarlo/live-estimator.js';
import { SimPool } from '../montecarlo/sim-pool.js';
import { SimulationRequestError, SimulationService } from '../montecarlo/simulation-service.js';
import { MemorySimulationStore, type SimulationRecord, type SimulationStore } from '../montecarlo/simulation-store.js';

const tiers = presetTiers();
const twoStep = tiers.find((t) => t.id === 'two-step-100k')!;
const pool = new SimPool({ workers: 2 });
after(() => pool.close());

const trader = { traderId: 'trader-a1', operator: false };
const stranger = { traderId: 'someone-else', operator: false };
const operator = { traderId: 'ops', operator: true };

const trades = Array.from({ length: 40 }, (_, i) => ({
  closedAt: Date.UTC(2026, 8, 1 + Math.floor(i / 2), 12, i % 2),
  pnl: i % 3 === 0 ? -450 : 700,
}));

/** An assessment that traded for a week in a real shard kernel: its state is the input of "from here" jobs. */
function liveAssessment(): Harness {
  const h = new Harness(twoStep, { start: Date.UTC(2024, 0, 1, 10) });
  for (let d = 0; d < 6; d++) {
    h.clock(Date.UTC(2024, 0, 1 + d, 10));
    h.tick('BTC-USD', 50_000, 50_000);
    h.buy('BTC-USD', 3);
    h.tick('BTC-USD', d % 2 === 0 ? 51_000 : 49_700, d % 2 === 0 ? 51_000 : 49_700);
    h.command({ kind: 'close-position', clientOrderId: `close-${d}`, symbol: 'BTC-USD' });
  }
  return h;
}

async function settle(service: SimulationService, asker: typeof trader, id: string): Promise<SimulationRecord> {
  for (let i = 0; i < 600; i++) {
    const r = await service.get(asker, id);
    if (r.status !== 'running') return r;
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error(`simulation ${id} did not finish`);
}

function suite(name: string, makeStore: () => Promise<SimulationStore>, skip: string | false = false): void {
  describe(name, { skip }, () => {
    let store: SimulationStore;
    let service: SimulationService;
    const published: { subject: string; payload: Record<string, unknown> }[] = [];
    const h = liveAssessment();
    before(async () => {
      store = await makeStore();
      service = new SimulationService({
        simulator: pool,
        store,
        tiers: () => tiers,
        assessment: async (id) => (id === 'a1' ? h.state('a1') : undefined),
        clock: () => h.now,
        publish: async (subject, payload) => void published.push({ subject, payload: payload as Record<string, unknown> }),
        maxRunningPerTrader: 2,
      });
    });

    test('uploaded trades on a tier run to a result that its owner can read and the completion is published', async () => {
      const started = await service.start(trader, { tierId: 'two-step-100k', trades, paths: 5_000, seed: 'svc' });
      assert.equal(started.status, 'running');
      const done = await settle(service, trader, started.id);
      assert.equal(done.status, 'completed');
      assert.equal(done.result!.paths, 5_000);
      assert.equal(done.result!.seed, 'svc');
      assert.equal(done.request.trades, 40);
      const event = published.find((e) => e.payload.simulationId === started.id);
      assert.equal(event?.subject, 'montecarlo.simulation-completed');
      assert.deepEqual(event?.payload.pass, done.result!.pass);
      assert.ok((await service.list(trader)).some((r) => r.id === started.id));
      assert.ok((await service.list(operator)).some((r) => r.id === started.id));
      assert.equal((await service.list(stranger)).length, 0);
    });

    test("another trader's simulation and assessment look the same as ones that do not exist", async () => {
      const started = await service.start(trader, { tierId: 'two-step-100k', trades, paths: 1_000 });
      await assert.rejects(service.get(stranger, started.id), { code: 'UNKNOWN_SIMULATION', status: 404 });
      await assert.rejects(service.get(trader, 'no-such-id'), { code: 'UNKNOWN_SIMULATION', status: 404 });
      await assert.rejects(service.start(stranger, { assessmentId: 'a1' }), { code: 'FORBIDDEN_ASSESSMENT', status: 404 });
      await assert.rejects(service.start(trader, { assessmentId: 'nope' }), { code: 'FORBIDDEN_ASSESSMENT', status: 404 });
      assert.equal((await settle(service, operator, started.id)).status, 'completed');
    });

    test('a live assessment is simulated from where it stands, on its own daily results', async () => {
      const started = await service.start(trader, { assessmentId: 'a1', paths: 4_096 });
      const done = await settle(service, trader, started.id);
      assert.equal(done.status, 'completed', JSON.stringify(done.error));
      assert.equal(done.assessmentId, 'a1');
      assert.equal(done.tierId, 'two-step-100k');
      // Paths start from the assessment's balance, not the tier's.
      assert.equal(done.result!.fan.bands.p50[0], h.state('a1').balance);
      assert.notEqual(h.state('a1').balance, 100_000);
      assert.ok(done.result!.pass.p > 0 && done.result!.pass.p < 1);
    });

    test('bad requests are refused with the reason and nothing is stored', async () => {
      const before = (await service.list(operator, 200)).length;
      const cases: [unknown, string][] = [
        [{ tierId: 'two-step-100k' }, 'INVALID_SIMULATION_REQUEST'],
        [{ tierId: 'two-step-100k', trades, paths: 5 }, 'INVALID_SIMULATION_REQUEST'],
        [{ tierId: 'two-step-100k', trades, paths: 5_000_000 }, 'INVALID_SIMULATION_REQUEST'],
        [{ tierId: 'no-such-tier', trades }, 'UNKNOWN_TIER'],
        [{ tierId: 'two-step-100k', trades: trades.slice(0, 3) }, 'NOT_ENOUGH_HISTORY'],
        [{ tierId: 'two-step-100k', trades: [{ closedAt: 'yesterday', pnl: 1 }, ...trades] }, 'INVALID_HISTORY'],
        [{ tierId: 'two-step-100k', trades, surprise: true }, 'INVALID_SIMULATION_REQUEST'],
      ];
      for (const [body, code] of cases) {
        await assert.rejects(service.start(trader, body), (err: unknown) => {
          assert.ok(err instanceof SimulationRequestError, String(err));
          assert.equal(err.code, code, err.message);
          return true;
        });
      }
      assert.equal((await service.list(operator, 200)).length, before);
    });

    test('a trader may run only so many simulations at once', async () => {
      const big = { tierId: 'two-step-100k', trades, paths: 400_000 };
      const a = await service.start(trader, big);
      const b = await service.start(trader, big);
      await assert.rejects(service.start(trader, big), { code: 'TOO_MANY_SIMULATIONS', status: 429 });
      service.close();
      assert.equal((await settle(service, trader, a.id)).status, 'cancelled');
      assert.equal((await settle(service, trader, b.id)).status, 'cancelled');
    });
  });
}

suite('simulation service, in-memory store', async () => new MemorySimulationStore());

const pgSkip = await serviceGate('postgres', '127.0.0.1', 5432);
const dbName = `vatic_test_${randomBytes(6).toString('hex')}`;
let admin: postgres.Sql | undefined;
let sql: postgres.Sql | undefined;
after(async () => {
  await sql?.end({ timeout: 5 });
  if (admin !== undefined) {
    await admin.unsafe(`drop database if exists ${dbName} with (force)`);
    await admin.end({ timeout: 5 });
  }
});
suite(
  'simulation service, Postgres store',
  async () => {
    admin = postgres({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres', max: 1, onnotice: () => {} });
    await admin.unsafe(`create database ${dbName}`);
    sql = postgres({ host: '127.0.0.1', port: 5432, user: 'postgres', database: dbName, max: 4, onnotice: () => {} });
    await migrate(sql);
    return new PgSimulationStore(sql);
  },
  pgSkip,
);

test('jobs a stopped process left running are marked failed, and only those past the longest run', async () => {
  const store = new MemorySimulationStore();
  const base = {
    traderId: 't',
    assessmentId: null,
    tierId: 'x',
    status: 'running' as const,
    request: {},
    result: null,
    error: null,
    completedAt: null,
  };
  await store.insert({ ...base, id: 'old', createdAt: 1_000 });
  await store.insert({ ...base, id: 'new', createdAt: 900_000 });
  const service = new SimulationService({
    simulator: pool,
    store,
    tiers: () => tiers,
    assessment: async () => undefined,
    clock: () => 1_000_000,
    maxRuntimeMs: 600_000,
  });
  assert.equal(await service.recover(), 1);
  assert.equal((await store.get('old'))!.error!.code, 'INTERRUPTED');
  assert.equal((await store.get('new'))!.status, 'running');
});

test('the live estimator pushes a pass probability for each watched assessment, and none again until its state changes', async () => {
  const h = liveAssessment();
  const pushed: LiveEstimate[] = [];
  const estimator = new LiveEstimator({
    simulator: pool,
    tiers: () => tiers,
    watched: () => ['a1', 'unknown'],
    assessment: async (id) => (id === 'a1' ? h.state('a1') : undefined),
    push: (e) => pushed.push(e),
    clock: () => h.now,
  });
  assert.equal(await estimator.round(), 1);
  assert.equal(pushed[0]!.assessmentId, 'a1');
  assert.equal(pushed[0]!.paths, 4096);
  assert.ok(pushed[0]!.pass.lo <= pushed[0]!.pass.p && pushed[0]!.pass.p <= pushed[0]!.pass.hi);
  assert.equal(await estimator.round(), 0);
  h.clock(h.now + DAY);
  h.tick('BTC-USD', 50_000, 50_000);
  h.buy('BTC-USD', 1);
  h.tick('BTC-USD', 50_900, 50_900);
  h.command({ kind: 'close-position', clientOrderId: 'later', symbol: 'BTC-USD' });
  assert.equal(await estimator.round(), 1);
  assert.notDeepEqual(pushed[1]!.pass, pushed[0]!.pass);
});
