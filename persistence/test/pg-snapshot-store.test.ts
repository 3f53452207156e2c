import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { after, before, describe, test } from 'node:test';
import postgres from 'postgres';
import { DEFAULT_INSTRUMENTS, parseTier, type AssessmentState } from '../../actors/index.js';
import { ShardKernel, type EngineSnapshot } from '../../engine/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import {
  decodeJson,
  encodeJson,
  migrate,
  PgCheckpointStore,
  PgSnapshotStore,
  PgUnavailableError,
  SnapshotTooLargeError,
  type SnapshotRow,
} from '../index.js';

const HOST = '127.0.0.1';
const PORT = 5432;
const skip = await serviceGate('postgres', HOST, PORT);

const connect = (database: string, extra: postgres.Options<Record<string, never>> = {}) =>
  postgres({ host: HOST, port: PORT, user: 'postgres', database, max: 4, onnotice: () => {}, ...extra });
const dbName = (suffix = '') => `vatic_test_${randomBytes(6).toString('hex')}${suffix}`;

// A phase without a daily rule keeps its daily floor at -Infinity, which plain JSON would lose.
const tier = parseTier({
  id: 'no-daily',
  version: 1,
  name: 'No daily',
  phases: [{ name: 'challenge', startingBalance: 10_000, rules: { maxLoss: { limit: { pct: 10 } } } }],
});
function sampleState(): AssessmentState {
  const k = new ShardKernel({ tiers: [tier], instruments: DEFAULT_INSTRUMENTS });
  k.apply({ i: 0, input: { type: 'clock', time: Date.parse('2026-01-05T10:00:00Z') } });
  k.apply({ i: 1, input: { type: 'create', assessmentId: 'a1', traderId: 't1', tierId: 'no-daily' } });
  return k.snapshot().actors[0]!.state;
}
const base = sampleState();
const stateFor = (id: string): AssessmentState => ({ ...base, id });
const row = (assessmentId: string, version: number, ownerEpoch: number, extra: Partial<SnapshotRow> = {}): SnapshotRow => ({
  assessmentId,
  version,
  ownerEpoch,
  tickSeq: version * 10,
  journalPos: version * 3,
  state: stateFor(assessmentId),
  ...extra,
});

describe('postgres snapshot store', { skip }, () => {
  let admin: postgres.Sql;
  let sql: postgres.Sql;
  const name = dbName();
  const extraDbs: string[] = [];

  before(async () => {
    admin = connect('postgres', { max: 1 });
    await admin.unsafe(`create database ${name}`);
    sql = connect(name);
  });

  after(async () => {
    await sql?.end({ timeout: 5 });
    if (admin !== undefined) {
      for (const db of [name, ...extraDbs]) await admin.unsafe(`drop database if exists ${db} with (force)`);
      await admin.end({ timeout: 5 });
    }
  });

  test('migrations apply once and a second run applies nothing', async () => {
    const first = await migrate(sql);
    assert.deepEqual(first.applied, [
      '0001_init.sql',
      '0002_engine_groups.sql',
      '0003_purchases.sql',
      '0004_simulations.sql',
      '0005_cluster.sql',
      '0006_history.sql',
    ]);
    const second = await migrate(sql);
    assert.deepEqual(second.applied, []);
    assert.deepEqual(second.skipped, [
      '0001_init.sql',
      '0002_engine_groups.sql',
      '0003_purchases.sql',
      '0004_simulations.sql',
      '0005_cluster.sql',
      '0006_history.sql',
    ]);
    const recorded = await sql`select name from schema_migrations`;
    assert.equal(recorded.length, 6);
    const tables = await sql<{ table_name: string }[]>`
      select table_name from information_schema.tables where table_schema = 'public' order by table_name`;
    assert.deepEqual(
      tables.map((t) => t.table_name),
      [
        'assessments',
        'checkpoint_kernels',
        'checkpoints',
        'cluster_members',
        'history_assessments',
        'history_days',
        'history_events',
        'history_fills',
        'history_marks',
        'history_points',
        'history_trades',
        'history_transitions',
        'journal',
        'processed_webhooks',
        'purchases',
        'reports',
        'schema_migrations',
        'shard_owners',
        'simulations',
        'snapshots',
        'tiers',
        'users',
        'violations',
      ],
    );
  });

  test('concurrent migrators on a fresh database do not double-apply', async () => {
    const fresh = dbName('_c');
    extraDbs.push(fresh);
    await admin.unsafe(`create database ${fresh}`);
    const clients = Array.from({ length: 4 }, () => connect(fresh, { max: 1 }));
    try {
      const results = await Promise.all(clients.map((c) => migrate(c)));
      const applied = results.flatMap((r) => r.applied);
      assert.deepEqual(applied, [
        '0001_init.sql',
        '0002_engine_groups.sql',
        '0003_purchases.sql',
        '0004_simulations.sql',
        '0005_cluster.sql',
        '0006_history.sql',
      ]);
      const [count] = await clients[0]!<{ n: number }[]>`select count(*)::int as n from schema_migrations`;
      assert.equal(count!.n, 6);
    } finally {
      await Promise.all(clients.map((c) => c.end({ timeout: 5 })));
    }
  });

  test('a batch of 10,000 snapshots upserts in one statement per 2,000 rows', async (t) => {
    await migrate(sql);
    const statements: string[] = [];
    const counted = connect(name, {
      max: 1,
      debug: (_conn, query) => {
        statements.push(query);
      },
    });
    try {
      const store = new PgSnapshotStore(counted, { copyThreshold: Infinity });
      await counted`select 1`; // connect (and fetch types) before counting and timing
      statements.length = 0;
      const rows = Array.from({ length: 10_000 }, (_, i) => row(`bulk-${String(i).padStart(5, '0')}`, 1, 1));
      const started = performance.now();
      const written = await store.saveBatch(rows);
      const ms = performance.now() - started;
      t.diagnostic(`10,000-row saveBatch (insert) took ${ms.toFixed(1)} ms`);
      assert.equal(written, 10_000);
      assert.equal(statements.filter((q) => /insert into snapshots/i.test(q)).length, 5);
      assert.equal(statements.length, 5);

      const newer = rows.map((r) => ({ ...r, version: 2 }));
      const started2 = performance.now();
      assert.equal(await store.saveBatch(newer), 10_000);
      const ms2 = performance.now() - started2;
      t.diagnostic(`10,000-row saveBatch (update) took ${ms2.toFixed(1)} ms`);
      assert.equal(await store.saveBatch(newer), 0, 'replaying the same versions writes nothing');

      const loaded = (await store.loadAll()).filter((r) => r.assessmentId.startsWith('bulk-'));
      assert.equal(loaded.length, 10_000);
      assert.ok(loaded.every((r) => r.version === 2 && r.state.id === r.assessmentId));
    } finally {
      await counted.end({ timeout: 5 });
    }
  });

  test('a large batch goes through COPY with the same guards, and tabs, newlines and backslashes survive', async () => {
    await migrate(sql);
    const store = new PgSnapshotStore(sql, { copyThreshold: 100 });
    const odd = (id: string): AssessmentState => ({ ...stateFor(id), traderId: 'tab\there, new\nline, back\\slash \u00e9' });
    const rows = Array.from({ length: 500 }, (_, i) => row(`copy-${i}`, 2, 2, { state: odd(`copy-${i}`) }));
    assert.equal(await store.saveBatch(rows), 500);
    // Mixed: 200 newer, 200 stale versions, 100 from a fenced (older) owner.
    const mixed = rows.map((r, i) =>
      i < 200 ? { ...r, version: 3 } : i < 400 ? { ...r, version: 1 } : { ...r, version: 9, ownerEpoch: 1 },
    );
    assert.equal(await store.saveBatch(mixed), 200);
    const loaded = await store.load(rows.map((r) => r.assessmentId));
    assert.deepEqual(loaded.map((r) => r.version).sort(), [...Array(200).fill(3), ...Array(300).fill(2)].sort());
    assert.ok(
      loaded.every(
        (r) => r.state.traderId === odd(r.assessmentId).traderId && r.state.rules.dailyFloor === stateFor(r.assessmentId).rules.dailyFloor,
      ),
    );
  });

  test('an older version never overwrites a newer snapshot', async () => {
    await migrate(sql);
    const store = new PgSnapshotStore(sql);
    assert.equal(await store.saveBatch([row('v-1', 5, 1)]), 1);
    assert.equal(await store.saveBatch([row('v-1', 4, 1)]), 0);
    assert.equal(await store.saveBatch([row('v-1', 5, 1, { tickSeq: 999 })]), 0, 'an equal version is not newer');
    const [held] = await store.load(['v-1']);
    assert.equal(held!.version, 5);
    assert.equal(held!.tickSeq, 50);
    assert.equal(await store.saveBatch([row('v-1', 6, 1)]), 1);
    assert.equal((await store.load(['v-1']))[0]!.version, 6);
  });

  test('a stale owner epoch is fenced out even with a higher version', async () => {
    await migrate(sql);
    const store = new PgSnapshotStore(sql);
    assert.equal(await store.saveBatch([row('f-1', 10, 3)]), 1);
    assert.equal(await store.saveBatch([row('f-1', 11, 2)]), 0, 'the old owner (epoch 2) is fenced');
    let [held] = await store.load(['f-1']);
    assert.deepEqual([held!.version, held!.ownerEpoch], [10, 3]);
    assert.equal(await store.saveBatch([row('f-1', 11, 4)]), 1, 'a newer owner takes over');
    [held] = await store.load(['f-1']);
    assert.deepEqual([held!.version, held!.ownerEpoch], [11, 4]);
  });

  test('a batch mixing fresh, stale and fenced rows writes only the fresh ones and counts them', async () => {
    await migrate(sql);
    const store = new PgSnapshotStore(sql);
    await store.saveBatch([row('m-1', 5, 2), row('m-2', 5, 2), row('m-3', 5, 2)]);
    const written = await store.saveBatch([row('m-1', 6, 2), row('m-2', 4, 2), row('m-3', 9, 1), row('m-4', 1, 1)]);
    assert.equal(written, 2);
    const held = await store.load(['m-1', 'm-2', 'm-3', 'm-4', 'missing']);
    assert.deepEqual(
      held.map((r) => [r.assessmentId, r.version, r.ownerEpoch]),
      [
        ['m-1', 6, 2],
        ['m-2', 5, 2],
        ['m-3', 5, 2],
        ['m-4', 1, 1],
      ],
    );
  });

  test('plus and minus infinity floors round-trip through the store', async () => {
    await migrate(sql);
    const store = new PgSnapshotStore(sql);
    const state = stateFor('inf-1');
    assert.equal(state.rules.dailyFloor, -Infinity);
    const odd: AssessmentState = { ...state, rules: { ...state.rules, maxLossFloor: Infinity } };
    await store.saveBatch([{ ...row('inf-1', 1, 1), state: odd }]);
    const [held] = await store.load(['inf-1']);
    assert.equal(held!.state.rules.dailyFloor, -Infinity);
    assert.equal(held!.state.rules.maxLossFloor, Infinity);
    assert.deepEqual(held!.state, decodeJson(encodeJson(odd)), 'the whole state survives (undefined fields drop out, as in JSON)');
  });

  test('a state over the 64 KiB snapshot cap is still written, counted and reported with SNAPSHOT_TOO_LARGE', async () => {
    await migrate(sql);
    const reports: SnapshotTooLargeError[] = [];
    const store = new PgSnapshotStore(sql, { onOversize: (e) => reports.push(e) });
    // A state that escaped its bound: 70 KiB of order history.
    const big: AssessmentState = { ...stateFor('big-1'), traderId: 'x'.repeat(70 * 1024) };
    assert.equal(await store.saveBatch([{ ...row('big-1', 1, 1), state: big }, row('small-1', 1, 1)]), 2);
    assert.equal(store.oversized, 1);
    assert.equal(reports.length, 1);
    assert.ok(reports[0] instanceof SnapshotTooLargeError);
    assert.equal(reports[0]!.code, 'SNAPSHOT_TOO_LARGE');
    assert.equal(reports[0]!.assessmentId, 'big-1');
    assert.equal(reports[0]!.limit, 65_536);
    assert.ok(reports[0]!.bytes > 70 * 1024);
    const [held] = await store.load(['big-1']);
    assert.equal(held!.state.traderId.length, 70 * 1024, 'written whole: nothing an acknowledged order depends on is dropped');
  });

  test('a checkpoint holding an actor over the cap commits whole and flags it, and an observer that throws changes nothing', async () => {
    await migrate(sql);
    const group = `cap-${randomBytes(3).toString('hex')}`;
    let calls = 0;
    const store = new PgCheckpointStore(sql, {
      group,
      copy: false,
      maxStateBytes: 4_096,
      onOversize: () => {
        calls++;
        throw new Error('observer bug');
      },
    });
    const epoch = await store.claim();
    const k = new ShardKernel({ tiers: [tier], instruments: DEFAULT_INSTRUMENTS });
    k.apply({ i: 0, input: { type: 'clock', time: Date.parse('2026-01-05T10:00:00Z') } });
    const kernel = k.snapshot();
    const actors = [
      { state: { ...stateFor(`${group}-big`), traderId: 'y'.repeat(5_000) }, quarantined: false },
      { state: stateFor(`${group}-ok`), quarantined: false },
    ];
    const snapshot: EngineSnapshot = { lastInput: 7, kernel: { ...kernel, lastInput: 7, actors } };
    await store.save({ version: 1, inputPos: 7, tickSeq: 3, journalPos: 2, snapshot }, epoch);
    assert.equal(store.oversized, 1);
    assert.equal(calls, 1);
    const loaded = await store.load();
    assert.deepEqual(
      loaded!.snapshot.kernel.actors.map((a) => [a.state.id, a.state.traderId.length]),
      [
        [`${group}-big`, 5_000],
        [`${group}-ok`, base.traderId.length],
      ],
    );
  });

  test('a closed or unreachable database fails with PgUnavailableError', async () => {
    const closed = connect(name, { max: 1 });
    await closed.end();
    await assert.rejects(
      new PgSnapshotStore(closed).loadAll(),
      (err: unknown) => err instanceof PgUnavailableError && err.code === 'PG_UNAVAILABLE',
    );
    const nowhere = postgres({ host: HOST, port: 1, user: 'postgres', database: name, max: 1, connect_timeout: 2, onnotice: () => {} });
    try {
      await assert.rejects(new PgSnapshotStore(nowhere).saveBatch([row('u-1', 1, 1)]), PgUnavailableError);
    } finally {
      await nowhere.end({ timeout: 1 });
    }
  });
});
