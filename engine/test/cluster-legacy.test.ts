import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { convertLegacyGroup, LegacyLayoutConflictError, PgCheckpointStore, PgJournal } from '../../persistence/index.js';
import { EngineNode, FencedError, shardKey, shardOf, stateDigest, VIRTUAL_SHARDS } from '../index.js';
import { createTestDatabase, type TestDatabase } from '../testing/pg-test-db.js';
import { serviceGate } from '../testing/service-gate.js';
import { ClusterHarness, createReq, tiers } from './cluster-harness.js';
import { until } from '../testing/until.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

let db: TestDatabase;
before(async () => {
  if (!skip) db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

test('rows of the single-group layout are converted once, exactly, into per-shard rows: a solo node then recovers the very states the old node had, and the old node is fenced', {
  skip,
}, async () => {
  const h = new ClusterHarness(db);
  h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
  h.ticks(3);
  // The old layout, as a single-group node writes it.
  const old = await EngineNode.start({
    market: h.market,
    journal: new PgJournal(db.sql),
    checkpoints: new PgCheckpointStore(db.sql),
    marketTail: () => h.market.tail(),
    engine: { workers: 2, tiers, flushIntervalMs: 0 },
    checkpointIntervalMs: 0,
  });
  await old.ready;
  const ids = Array.from({ length: 12 }, (_, n) => `legacy-${n}`);
  for (const id of ids) assert.equal((await old.offer(createReq(id))).ok, true);
  h.ticks(5);
  for (const [k, id] of ids.entries())
    assert.equal((await old.offer({ kind: 'command', assessmentId: id, command: h.place(`l${k}`, k % 2 ? 'buy' : 'sell') })).ok, true);
  h.ticks(5);
  await until(() => old.lastSeq >= h.market.lastSeq, { what: 'the legacy node to apply the market log', intervalMs: 5 });
  await old.checkpointNow();
  for (const [k, id] of ids.slice(0, 6).entries())
    assert.equal((await old.offer({ kind: 'command', assessmentId: id, command: h.place(`after-${k}`, 'buy') })).ok, true);
  h.ticks(5);
  await until(() => old.lastSeq >= h.market.lastSeq, { what: 'the legacy node to apply the market log', intervalMs: 5 });
  const before = new Map((await old.inspect()).snapshot.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));

  const converted = await convertLegacyGroup(db.sql);
  assert.deepEqual(converted, { converted: true, journalEntries: 18 + ids.length, actors: ids.length, checkpoint: true });
  const journal = await db.sql<{ group_id: string; assessment_id: string }[]>`select group_id, assessment_id from journal`;
  assert.ok(
    journal.every((r) => r.group_id === shardKey(shardOf(r.assessment_id))),
    "each entry under its assessment's shard",
  );
  const [counts] = await db.sql<{ cps: number; owners: number; released: number; legacy: number }[]>`select
    (select count(*) from checkpoints where group_id ~ '^v[0-9]{4}$')::int as cps,
    (select count(*) from shard_owners where group_id ~ '^v[0-9]{4}$')::int as owners,
    (select count(*) from shard_owners where released)::int as released,
    ((select count(*) from journal where group_id = 'default') + (select count(*) from snapshots where group_id = 'default')
      + (select count(*) from checkpoints where group_id = 'default') + (select count(*) from shard_owners where group_id = 'default'))::int as legacy`;
  assert.deepEqual(counts, { cps: VIRTUAL_SHARDS, owners: VIRTUAL_SHARDS, released: VIRTUAL_SHARDS, legacy: 0 });
  assert.deepEqual(
    await convertLegacyGroup(db.sql),
    { converted: false, journalEntries: 0, actors: 0, checkpoint: false },
    'a second start converts nothing',
  );

  // The old node, still running, can no longer write.
  const refused = await old.offer({ kind: 'command', assessmentId: ids[0]!, command: h.place('stale', 'buy') });
  assert.ok(!refused.ok && refused.code === 'JOURNAL_UNAVAILABLE');
  assert.ok(old.fault instanceof FencedError);
  await old.stop({ checkpoint: false });

  const node = await h.start(undefined);
  await node.ready;
  const after = new Map((await node.inspect()).snapshot.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));
  assert.deepEqual(after, before, 'every state as the old node had it');
  assert.ok('after-0' in (await node.state(ids[0]!))!.clientOrderIds, 'orders journaled after the old checkpoint are back');
  assert.equal((await h.offer({ kind: 'command', assessmentId: ids[1]!, command: h.place('new', 'buy') })).ok, true);
  h.ticks(3);
  await h.caughtUp();
  const digests = new Map((await node.inspect()).snapshot.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));
  assert.equal(digests.size, ids.length);
  await h.stopAll();
});

test('a database with rows of both layouts is not converted', { skip }, async () => {
  await db.sql`truncate journal, snapshots, checkpoints, shard_owners`;
  await db.sql`insert into shard_owners (group_id, epoch) values ('default', 3), ('v0001', 1)`;
  await assert.rejects(
    convertLegacyGroup(db.sql),
    (e: unknown) => e instanceof LegacyLayoutConflictError && e.code === 'LEGACY_LAYOUT_CONFLICT',
  );
  const [row] = await db.sql<{ n: number }[]>`select count(*)::int as n from shard_owners where group_id = 'default'`;
  assert.equal(row!.n, 1, 'nothing changed');
});
