/**
 * The intake of a solo cluster node, the node every process runs alone
 * (`npm start`, `serve` without NODE_ID): what it refuses and why, a resent
 * order, and a second solo node claiming every shard under it.
 */
import assert from 'node:assert/strict';
import { after, before, beforeEach, describe, test } from 'node:test';
import { FencedError, shardKey, shardOf } from '../index.js';
import { createTestDatabase, type TestDatabase } from '../testing/pg-test-db.js';
import { serviceGate } from '../testing/service-gate.js';
import { ClusterHarness, createReq } from './cluster-harness.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

describe('solo node intake', { skip }, () => {
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
    h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
  });

  test('an order resent under its client order id is answered with the first acceptance and applied once; another order under that id is refused with the position that holds it', async () => {
    h.ticks(3);
    const node = await h.start(undefined);
    await node.ready;
    assert.equal((await node.offer(createReq('d1'))).ok, true);
    const [a, b] = await Promise.all([
      node.offer({ kind: 'command', assessmentId: 'd1', command: h.place('same', 'buy') }),
      node.offer({ kind: 'command', assessmentId: 'd1', command: h.place('same', 'buy') }),
    ]);
    assert.ok(a.ok && a.repeat === undefined, JSON.stringify(a));
    assert.ok(b.ok && b.repeat === true && b.position === a.position && b.input === -1, JSON.stringify(b));
    const later = await node.offer({ kind: 'command', assessmentId: 'd1', command: h.place('same', 'sell') });
    assert.ok(!later.ok && later.code === 'DUPLICATE_CLIENT_ORDER_ID' && later.position === a.position, JSON.stringify(later));
    h.ticks(3);
    await h.caughtUp();
    const state = await node.state('d1');
    assert.equal(Object.keys(state!.positions).length, 1);
    assert.equal(Object.values(state!.positions)[0]!.qty, 0.2, 'one fill, not two');
    assert.equal(await h.assertEqualsReplay(), 1);
  });

  test('a create before the market has any time is refused as not ready and journaled nowhere, and taken once a clock beat is applied', async () => {
    await db.sql`truncate journal`;
    const bare = new ClusterHarness(db); // a market without the clock beat the others start with
    h = bare;
    const node = await bare.start(undefined);
    await node.ready;
    const early = await node.offer(createReq('t1'));
    assert.ok(!early.ok && early.code === 'NOT_READY' && /market time/.test(early.message), JSON.stringify(early));
    const [none] = await db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    assert.equal(none!.n, 0, 'nothing journaled');
    bare.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
    await bare.caughtUp();
    assert.equal((await node.offer(createReq('t1'))).ok, true);
    assert.equal((await node.state('t1'))?.status, 'active', 'the acknowledged create exists');
  });

  test('bad requests are refused with a code and a reason, and nothing is journaled', async () => {
    const node = await h.start(undefined);
    await node.ready;
    assert.equal((await node.offer(createReq('b1'))).ok, true);
    const refusals = await Promise.all([
      node.offer({ kind: 'command', assessmentId: 'nope', command: h.place('x', 'buy') }),
      node.offer({
        kind: 'command',
        assessmentId: 'b1',
        command: { kind: 'place', clientOrderId: 'x', symbol: 'BTC-USD', side: 'up', type: 'market', qty: -1 },
      }),
      node.offer(createReq('b1')),
      node.offer({ kind: 'create', assessmentId: 'b2', traderId: 't', tierId: 'no-such-tier' }),
      node.offer({ kind: 'create', assessmentId: '', traderId: 't', tierId: 'one-step-50k' }),
    ]);
    assert.deepEqual(
      refusals.map((r) => (r.ok ? 'ok' : r.code)),
      ['UNKNOWN_ASSESSMENT', 'INVALID_COMMAND', 'DUPLICATE_ASSESSMENT', 'UNKNOWN_TIER', 'INVALID_COMMAND'],
    );
    const invalid = refusals[1]!;
    assert.ok(!invalid.ok && /side/.test(invalid.message) && /qty/.test(invalid.message), 'the message names the bad fields');
    const [count] = await db.sql<{ n: number }[]>`select count(*)::int as n from journal`;
    assert.equal(count!.n, 1, 'only the first create was journaled');
  });

  test('a solo node whose shards a newer solo node claimed refuses to journal, halts, and saves no checkpoint; the newer owner takes the order', async () => {
    const old = await h.start(undefined);
    await old.ready;
    assert.equal((await old.offer(createReq('f1'))).ok, true);
    const shard = shardOf('f1');
    const oldEpoch = old.epochOf(shard)!;
    const newer = await h.start(undefined); // the harness now routes to the newer node only
    await newer.ready;
    assert.ok(
      newer.epochOf(shard)! > oldEpoch && old.epochOf(shard) === oldEpoch,
      'the newer node holds the shard at a newer epoch; the old one does not know yet',
    );
    try {
      const refused = await old.offer({ kind: 'command', assessmentId: 'f1', command: h.place('z', 'buy') });
      assert.ok(!refused.ok && refused.code === 'NOT_READY', JSON.stringify(refused));
      assert.ok(old.fault instanceof FencedError, 'the old node halted');
      const again = await old.offer({ kind: 'command', assessmentId: 'f1', command: h.place('z2', 'buy') });
      assert.ok(!again.ok && again.code === 'STOPPING', 'nothing more is journaled by the halted node');
      assert.equal((await db.sql`select 1 from journal where client_order_id in ('z', 'z2')`).length, 0, 'the fenced write left nothing');
      const rowsOfShard = () => db.sql`
        select 'checkpoint' as t, version::text, owner_epoch::text, updated_at::text from checkpoints where group_id = ${shardKey(shard)}
        union all select assessment_id, version::text, owner_epoch::text, updated_at::text from snapshots where group_id = ${shardKey(shard)}
        order by 1`;
      const rows = await rowsOfShard();
      await old.checkpointNow().catch(() => undefined);
      assert.deepEqual(await rowsOfShard(), rows, "the old node's checkpoint changed no row of the shard");
      assert.equal((await db.sql`select 1 from snapshots where assessment_id = 'f1' and owner_epoch <= ${oldEpoch}`).length, 0);
      assert.equal(
        (await newer.offer({ kind: 'command', assessmentId: 'f1', command: h.place('z', 'buy') })).ok,
        true,
        'the new owner takes the order',
      );
    } finally {
      await old.stop({ handOver: false });
    }
  });
});
