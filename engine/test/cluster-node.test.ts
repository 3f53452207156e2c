import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../testing/pg-test-db.js';
import { serviceGate } from '../testing/service-gate.js';
import { PgShardJournal, PgShardStore } from '../../persistence/index.js';
import { JournalOutcomeUnknownError, shardKey, shardOf, VIRTUAL_SHARDS, type ShardJournal } from '../index.js';
import { ClusterHarness, createReq, idInShard } from './cluster-harness.js';
import { until } from '../testing/until.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

describe('cluster node', { skip }, () => {
  let db: TestDatabase;
  let h: ClusterHarness;
  before(async () => {
    db = await createTestDatabase();
  });
  after(async () => {
    await h?.stopAll();
    await db?.drop();
  });
  beforeEach(async () => {
    await h?.stopAll();
    await db.sql`truncate journal, snapshots, checkpoints, shard_owners, cluster_members`;
    h = new ClusterHarness(db);
  });

  // COPY as on a Postgres server; unnest as on the embedded Postgres (PGlite has no COPY FROM STDIN), what `npm start` runs on.
  for (const copy of [true, false])
    test(`a solo node serves every shard; stopped without a hand-over and restarted, it recovers exactly the state and events of an uninterrupted run (checkpoint rows by ${copy ? 'COPY' : 'unnest'})`, async () => {
      const store = () => ({ store: new PgShardStore(db.sql, { copy }) });
      h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
      h.ticks(5);
      const first = await h.start(undefined, store());
      await first.ready;
      assert.equal(first.servedShards().size, VIRTUAL_SHARDS);
      const ids = ['s1', 's2', 's3', 's4'];
      for (const id of ids) assert.equal((await h.offer(createReq(id))).ok, true);
      h.ticks(10);
      for (const [k, id] of ids.entries())
        assert.equal((await h.offer({ kind: 'command', assessmentId: id, command: h.place(`c${k}`, k % 2 ? 'buy' : 'sell') })).ok, true);
      h.ticks(10);
      await h.caughtUp();
      await first.checkpointNow();
      assert.equal((await h.offer({ kind: 'command', assessmentId: 's1', command: h.place('after-checkpoint', 'buy') })).ok, true);
      h.ticks(10);
      await h.caughtUp();
      await first.stop({ handOver: false });
      h.nodes.clear();
      h.ticks(5);
      const second = await h.start(undefined, store());
      await second.ready;
      assert.ok(second.epoch > first.epoch, 'the restarted node holds every shard at a newer epoch');
      const s1 = await second.state('s1');
      assert.ok(s1 !== undefined && 'after-checkpoint' in s1.clientOrderIds, 'the order journaled after the checkpoint is back');
      assert.equal(await h.assertEqualsReplay(), 4);
    });

  test('intake for an assessment whose shard is not served here is refused NOT_OWNER, and nothing is journaled', async () => {
    h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
    const a = await h.start('a');
    await a.ready;
    const b = await h.start('b');
    await b.ready;
    await until(
      () =>
        a.servedShards().size + b.servedShards().size === VIRTUAL_SHARDS && Math.abs(a.servedShards().size - b.servedShards().size) <= 1,
      { what: 'the shards to spread over both nodes', deadlineMs: 30_000 },
    );
    const onB = [...b.servedShards()][0]!;
    const id = idInShard(onB);
    const refused = await a.offer(createReq(id));
    assert.ok(!refused.ok && refused.code === 'NOT_OWNER', JSON.stringify(refused));
    assert.equal((await db.sql`select 1 from journal`).length, 0);
    assert.equal((await b.offer(createReq(id))).ok, true);
  });

  test('shards moved to a joining node and back from a leaving one recover exactly the states and events of one uninterrupted process', async () => {
    h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
    h.ticks(3);
    const a = await h.start('a');
    await a.ready;
    assert.equal(a.servedShards().size, VIRTUAL_SHARDS);
    const ids = Array.from({ length: 24 }, (_, n) => `m${n}`);
    for (const id of ids) assert.equal((await h.offer(createReq(id))).ok, true);
    let order = 0;
    const trade = async (): Promise<void> => {
      for (const id of ids)
        assert.equal(
          (await h.offer({ kind: 'command', assessmentId: id, command: h.place(`o${order++}`, order % 2 ? 'buy' : 'sell', 0.1) })).ok,
          true,
        );
      h.ticks(3);
    };
    await trade();
    await a.checkpointNow();
    await trade();
    const b = await h.start('b');
    // Orders go on while the shards move (the harness retries NOT_OWNER as a router does).
    while (b.servedShards().size < 500) await trade();
    await until(
      () =>
        Math.abs(a.servedShards().size - b.servedShards().size) <= 1 && a.servedShards().size + b.servedShards().size === VIRTUAL_SHARDS,
      { what: 'half the shards on the new node', deadlineMs: 30_000 },
    );
    await trade();
    await h.assertEqualsReplay();
    const moved = ids.filter((id) => b.servedShards().has(shardOf(id)));
    assert.ok(moved.length > 0, 'some assessments moved');
    // Graceful leave: b hands everything back.
    await b.stop();
    h.nodes.delete('b');
    await until(() => a.servedShards().size === VIRTUAL_SHARDS, { what: 'a serves every shard again', deadlineMs: 30_000 });
    await trade();
    assert.equal(await h.assertEqualsReplay(), ids.length);
  });

  test('the shards of a killed node are taken over after its lease lapses, from its last checkpoint and the journal, exactly', async () => {
    h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
    h.ticks(3);
    const a = await h.start('a');
    const b = await h.start('b');
    await Promise.all([a.ready, b.ready]);
    await until(() => a.servedShards().size + b.servedShards().size === VIRTUAL_SHARDS && a.servedShards().size > 500, {
      what: 'the shards to spread',
      deadlineMs: 30_000,
    });
    const ids = Array.from({ length: 24 }, (_, n) => `k${n}`);
    for (const id of ids) assert.equal((await h.offer(createReq(id))).ok, true);
    for (let round = 0; round < 3; round++) {
      for (const [k, id] of ids.entries())
        assert.equal(
          (await h.offer({ kind: 'command', assessmentId: id, command: h.place(`r${round}-${k}`, (round + k) % 2 ? 'buy' : 'sell', 0.1) }))
            .ok,
          true,
        );
      h.ticks(4);
      if (round === 0) {
        await h.caughtUp();
        await Promise.all([a.checkpointNow(), b.checkpointNow()]); // what follows is only in the journal and the market log
      }
    }
    await h.caughtUp();
    const onB = ids.filter((id) => b.servedShards().has(shardOf(id)));
    assert.ok(onB.length > 0);
    await b.stop({ handOver: false }); // as a SIGKILL: no hand-over, the lease left to lapse
    h.nodes.delete('b');
    h.ticks(5);
    await until(() => a.servedShards().size === VIRTUAL_SHARDS, { what: 'a takes over every shard', deadlineMs: 30_000 });
    for (const id of onB)
      assert.equal((await h.offer({ kind: 'command', assessmentId: id, command: h.place(`after-${id}`, 'buy', 0.1) })).ok, true);
    h.ticks(3);
    assert.equal(await h.assertEqualsReplay(), ids.length);
    assert.ok(a.clusterView().moves.takeover >= onB.length);
  });

  test('two nodes racing for one shard leave one snapshot lineage: the loser is fenced on its next write and drops that shard only', async () => {
    h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
    h.ticks(2);
    // Rounds far apart: a learns of the new owner only by its next write.
    const a = await h.start('a', { leaseTtlMs: 60_000, roundMs: 60_000 });
    await a.ready;
    const id = 'race-1';
    const v = shardOf(id);
    assert.equal((await h.offer(createReq(id))).ok, true);
    await a.checkpointNow();
    const before = (await db.sql<{ epoch: string }[]>`select epoch::text from shard_owners where group_id = ${shardKey(v)}`)[0]!.epoch;
    // a's lease lapses as if it were paused: b joins and claims everything, a is none the wiser.
    await db.sql`update cluster_members set expires_at = clock_timestamp() - interval '1 second' where node_id = 'a'`;
    const b = await h.start('b', { leaseTtlMs: 60_000, roundMs: 60_000 });
    await until(() => b.servedShards().size === VIRTUAL_SHARDS, { what: "b takes over a's shards", deadlineMs: 30_000 });
    const after = (
      await db.sql<
        { epoch: string; owner_node: string }[]
      >`select epoch::text, owner_node from shard_owners where group_id = ${shardKey(v)}`
    )[0]!;
    assert.equal(after.owner_node, 'b');
    assert.equal(Number(after.epoch), Number(before) + 1);
    assert.ok(a.servedShards().has(v), 'a still believes it serves the shard');
    const refused = await a.offer({ kind: 'command', assessmentId: id, command: h.place('stale', 'buy') });
    assert.ok(!refused.ok && refused.code === 'NOT_OWNER', JSON.stringify(refused));
    assert.ok(!a.servedShards().has(v), 'a dropped the shard');
    assert.equal(a.fault, undefined, 'a goes on: only the shard is dropped');
    await a.checkpointNow().catch(() => undefined);
    await b.checkpointNow();
    const rows = await db.sql<{ owner_epoch: string }[]>`select owner_epoch::text from snapshots where group_id = ${shardKey(v)}
      union all select owner_epoch::text from checkpoints where group_id = ${shardKey(v)}`;
    assert.ok(
      rows.length >= 2 && rows.every((r) => r.owner_epoch === after.epoch),
      `every row of the shard is b's: ${JSON.stringify(rows)}`,
    );
    const journaled = await db.sql`select 1 from journal where client_order_id = 'stale'`;
    assert.equal(journaled.length, 0, 'the fenced write left nothing');
    assert.equal(
      (await b.offer({ kind: 'command', assessmentId: id, command: h.place('stale', 'buy') })).ok,
      true,
      'the new owner takes the order',
    );
  });

  test('a journal write whose outcome is unknown drops only the shards in that batch; they are taken again from the journal, exactly', async () => {
    h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
    h.ticks(3);
    // The real journal, except that one write commits and then reports its connection lost.
    const real = new PgShardJournal(db.sql);
    let loseNext = false;
    const journal: ShardJournal = {
      readShards: (after) => real.readShards(after),
      async appendBatch(entries) {
        const results = await real.appendBatch(entries);
        if (loseNext) {
          loseNext = false;
          throw new JournalOutcomeUnknownError('connection lost after the batch was sent');
        }
        return results;
      },
    };
    const node = await h.start(undefined, { journal });
    await node.ready;
    for (const id of ['u1', 'u2']) assert.equal((await h.offer(createReq(id))).ok, true);
    h.ticks(3);
    await h.caughtUp();
    loseNext = true;
    const unknown = await node.offer({ kind: 'command', assessmentId: 'u1', command: h.place('lost-reply', 'buy') });
    assert.ok(!unknown.ok && unknown.code === 'JOURNAL_UNAVAILABLE' && /outcome unknown/.test(unknown.message), JSON.stringify(unknown));
    assert.equal(node.fault, undefined, 'the node goes on');
    assert.ok(node.servedShards().has(shardOf('u2')) || shardOf('u2') === shardOf('u1'), 'shards outside the batch are served throughout');
    await until(() => node.servedShards().size === VIRTUAL_SHARDS, { what: 'the shard to be served again', deadlineMs: 30_000 });
    const retried = await h.offer({ kind: 'command', assessmentId: 'u1', command: h.place('lost-reply', 'buy') });
    assert.ok(
      retried.ok && retried.repeat === true && retried.position > 0,
      `the retry is answered with the original acceptance: ${JSON.stringify(retried)}`,
    );
    const other = await h.offer({ kind: 'command', assessmentId: 'u1', command: h.place('lost-reply', 'sell') });
    assert.ok(
      !other.ok && other.code === 'DUPLICATE_CLIENT_ORDER_ID' && other.position === retried.position,
      'another order under the same client order id is the duplicate it is',
    );
    assert.ok('lost-reply' in (await node.state('u1'))!.clientOrderIds, 'and applied');
    h.ticks(3);
    assert.equal(await h.assertEqualsReplay(), 2);
  });
});
