import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Registry } from 'prom-client';
import { PgShardStore } from '../../persistence/index.js';
import { ClusterMetrics, NodeMetrics, OpsServer, VIRTUAL_SHARDS, type OperatorShards } from '../index.js';
import { createTestDatabase, type TestDatabase } from '../testing/pg-test-db.js';
import { serviceGate } from '../testing/service-gate.js';
import { ClusterHarness, createReq } from './cluster-harness.js';
import { until } from '../testing/until.js';

const skip = await serviceGate('postgres', '127.0.0.1', 5432);

let db: TestDatabase;
before(async () => {
  if (!skip) db = await createTestDatabase();
});
after(async () => {
  await db?.drop();
});

test('an engine node without a gateway answers probes, the scrape and the ownership map on its ops port; a stop hands every shard over', {
  skip,
}, async () => {
  const h = new ClusterHarness(db);
  h.market.publish({ type: 'clock', time: Date.UTC(2026, 0, 5, 9, 0) });
  const registry = new Registry();
  const store = new PgShardStore(db.sql);
  const node = await h.start('ops-1', { metrics: new NodeMetrics(registry), clusterMetrics: new ClusterMetrics(registry), store });
  const ops = await OpsServer.start({ node, registry, store, marketTail: () => h.market.tail(), port: 0, host: '127.0.0.1' });
  const get = async (path: string) => {
    const res = await fetch(`http://127.0.0.1:${ops.port}${path}`);
    return { status: res.status, text: await res.text() };
  };
  try {
    assert.equal((await get('/livez')).status, 200);
    await until(async () => (await get('/readyz')).status === 200, { what: 'the node to be ready', deadlineMs: 30_000 });
    assert.equal(node.servedShards().size, VIRTUAL_SHARDS);
    assert.equal((await h.offer(createReq('ops-a'))).ok, true);
    const metrics = (await get('/metrics')).text;
    for (const name of [
      'cluster_members',
      'cluster_shards_owned',
      'cluster_shard_moves_total',
      'cluster_fenced_total',
      'cluster_shards_unowned',
      'cluster_shard_catchup_seconds',
      'cluster_lease_renew_failures_total',
    ]) {
      assert.match(metrics, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.match(metrics, /^cluster_shards_owned 1024$/m);
    assert.match(metrics, /^cluster_shard_moves_total\{kind="acquire"\} 1024$/m);
    const map = JSON.parse((await get('/v1/operator/shards')).text) as OperatorShards;
    assert.equal(map.node, 'ops-1');
    assert.deepEqual(
      map.members.map((m) => m.nodeId),
      ['ops-1'],
    );
    assert.equal(map.shards.length, VIRTUAL_SHARDS);
    assert.ok(map.shards.every((s) => s.owner === 'ops-1' && s.epoch === 1 && s.lag !== undefined));
    assert.equal(map.moves.acquire, VIRTUAL_SHARDS);
    assert.equal((await get('/nowhere')).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${ops.port}/livez`, { method: 'POST' })).status, 405);

    h.ticks(3);
    await h.caughtUp();
    await node.stop();
    h.nodes.clear();
    const [row] = await db.sql<{ released: number; ticks: number; members: number }[]>`select
      (select count(*) from shard_owners where released)::int as released,
      (select count(*) from checkpoints where tick_seq = ${h.market.lastSeq})::int as ticks,
      (select count(*) from cluster_members)::int as members`;
    assert.deepEqual(
      row,
      { released: VIRTUAL_SHARDS, ticks: VIRTUAL_SHARDS, members: 0 },
      'every shard checkpointed at the last input and released, and the node left',
    );
  } finally {
    await ops.close();
    await h.stopAll();
  }
});
