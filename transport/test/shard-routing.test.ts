import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Registry } from 'prom-client';
import { shardOf } from '../../engine/index.js';
import { serviceGate } from '../../engine/testing/index.js';
import { ProtocolError } from '../client/vatic-client.js';
import { ShardRouter } from '../nats/shard-router.js';
import { startWorld, type Owner, type RouteWorld } from './route-harness.js';
import { until } from '../../engine/testing/index.js';

const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));
const place = (clientOrderId: string, qty = 0.1) => ({
  op: 'place' as const,
  clientOrderId,
  symbol: 'BTC-USD',
  side: 'buy' as const,
  type: 'market' as const,
  qty,
  stopLoss: 59_000,
});

/** A counter's value with these labels (0 when absent). */
async function counter(registry: Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

describe('routing commands and streams to the owner of each shard in a two-node cluster, across moves', { skip }, () => {
  let w: RouteWorld;
  const owners = new Map<string, Owner>();
  /** The running node that serves `id`'s shard now. */
  const ownerOf = (id: string): Owner | undefined => [...owners.values()].find((o) => o.node.epochOf(shardOf(id)) !== undefined);
  /** Every shard served, each node holding its share (floor or ceil of 1024/N): no move under way. */
  const allServed = async (): Promise<void> =>
    void (await until(
      () => {
        const sizes = [...owners.values()].map((o) => o.node.servedShards().size);
        const share = 1024 / sizes.length;
        return sizes.reduce((a, b) => a + b, 0) === 1024 && sizes.every((n) => n >= Math.floor(share) && n <= Math.ceil(share));
      },
      { what: 'the shards to settle, a share on each node', deadlineMs: 60_000 },
    ));
  const restart = async (name: string): Promise<void> => {
    owners.set(name, await w.startOwner(name));
    await allServed();
  };

  before(async () => {
    w = await startWorld();
    for (const name of ['n1', 'n2']) owners.set(name, await w.startOwner(name));
    await allServed();
    assert.ok(
      [...owners.values()].every((o) => o.node.servedShards().size > 0),
      'both nodes serve a share',
    );
    // Created through the routing plane, each at the owner of its shard.
    const router = new ShardRouter(w.nc, { namespace: w.namespace, deadlineMs: 30_000 });
    for (const [id, trader] of [
      ['r-alice', 'alice'],
      ['r-bob', 'bob'],
      ['r-carol', 'carol'],
    ]) {
      const r = await router.offer({ kind: 'create', assessmentId: id!, traderId: trader!, tierId: 'one-step-50k' });
      assert.ok(r.ok, JSON.stringify(r));
    }
  });
  after(async () => {
    await w?.stop();
  });

  test('an order whose answer is lost while its shard moves to the other node is acknowledged once, with the original position, journaled once and filled once', async () => {
    const gw = await w.startGateway({ attemptTimeoutMs: 400, deadlineMs: 30_000 });
    const alice = await gw.connect('alice');
    await alice.subscribe('r-alice');
    const from = ownerOf('r-alice')!;
    from.holdReplies(); // the node journals and applies; its answer never reaches the gateway
    const acked = alice.order('r-alice', place('k1', 0.2));
    await until(async () => (await w.db.sql`select 1 from journal where client_order_id = 'k1'`).length === 1, {
      what: 'the order in the journal',
      deadlineMs: 20_000,
    });
    await until(async () => (await counter(gw.registry, 'gateway_route_retries_total', { reason: 'timeout' })) >= 1, {
      what: 'the gateway to give up on the first attempt',
      deadlineMs: 20_000,
    });
    await from.stop(); // hands every shard over to the other node, draining each one's subscriptions first
    owners.delete(from.name);
    const position = await acked;
    await until(() => ownerOf('r-alice') !== undefined, { what: 'the other node to take the shard', deadlineMs: 60_000 });
    const to = ownerOf('r-alice');
    assert.ok(to !== undefined && to !== from, 'the other node serves the shard now');
    const rows = await w.db.sql<
      { position: string }[]
    >`select position from journal where assessment_id = 'r-alice' and client_order_id = 'k1'`;
    assert.equal(rows.length, 1, 'journaled once');
    assert.equal(position, Number(rows[0]!.position), 'the answer is the original acceptance');
    await w.tick(60_200);
    await until(async () => (await to.node.state('r-alice'))?.positions['BTC-USD']?.qty !== undefined, {
      what: 'the new owner to fill it',
      deadlineMs: 20_000,
    });
    assert.equal((await to.node.state('r-alice'))!.positions['BTC-USD']!.qty, 0.2, 'filled once');
    alice.close();
    await gw.stop();
    // The same order sent again by the trader through another gateway (its first answer lost with its gateway)
    // is answered with the original acceptance; another order under the same client order id is a duplicate.
    const patient = await w.startGateway({ attemptTimeoutMs: 20_000, deadlineMs: 30_000 });
    const again = await patient.connect('alice');
    assert.equal(await again.order('r-alice', place('k1', 0.2)), position, 'the resend is answered with the original acceptance');
    await assert.rejects(
      again.order('r-alice', place('k1', 0.3)),
      (e: unknown) => e instanceof ProtocolError && e.code === 'DUPLICATE_CLIENT_ORDER_ID',
    );
    again.close();
    await patient.stop();
    await restart(from.name);
  });

  test("the live stream changes epoch when its shard changes owner, the client takes a fresh snapshot holding the earlier fill, and the next fill comes on the new owner's stream", async () => {
    const gw = await w.startGateway({ deadlineMs: 30_000 });
    const bob = await gw.connect('bob');
    const snapshots: Array<{ epoch: number; state: { positions: Record<string, { qty: number }> } }> = [];
    const fills: Array<{ epoch: number }> = [];
    const first = await bob.subscribe('r-bob', {
      onSnapshot: (state, at) => snapshots.push({ epoch: at.epoch, state: state as { positions: Record<string, { qty: number }> } }),
      onEvent: (e, at) => void ((e as { type: string }).type === 'order.filled' && fills.push({ epoch: at.epoch })),
    });
    const from = ownerOf('r-bob')!;
    const v = shardOf('r-bob');
    assert.equal(first.epoch, from.node.epochOf(v), "the stream carries the shard's owner epoch");
    await bob.order('r-bob', place('b1', 0.1));
    await w.tick(60_300);
    await until(() => fills.length === 1, { what: 'the first fill on the stream', deadlineMs: 20_000 });
    await from.stop();
    owners.delete(from.name);
    await until(() => ownerOf('r-bob') !== undefined, { what: 'the other node to take the shard', deadlineMs: 60_000 });
    const to = ownerOf('r-bob')!;
    const epoch = to.node.epochOf(v)!;
    assert.ok(epoch > first.epoch, 'a new owner, a new epoch');
    await until(() => snapshots.some((s) => s.epoch === epoch), { what: "a snapshot at the new owner's epoch", deadlineMs: 20_000 });
    assert.equal(
      snapshots.find((s) => s.epoch === epoch)!.state.positions['BTC-USD']?.qty,
      0.1,
      'the fresh snapshot holds the fill made under the old owner',
    );
    assert.ok(bob.gaps >= 1, 'the client saw the stream move and resynced');
    await bob.order('r-bob', place('b2', 0.1));
    await w.tick(60_400);
    await until(() => fills.length === 2, { what: "the second fill, on the new owner's stream", deadlineMs: 20_000 });
    assert.equal(fills[1]!.epoch, epoch);
    assert.equal(bob.position('r-bob')?.epoch, epoch);
    bob.close();
    await gw.stop();
    await restart(from.name);
  });

  test('with nobody serving the shard, an order is answered UNAVAILABLE after the deadline and a subscription is refused UNAVAILABLE', async () => {
    const gw = await w.startGateway({ attemptTimeoutMs: 200, deadlineMs: 800 });
    const carol = await gw.connect('carol');
    const names = [...owners.keys()];
    for (const name of names) {
      await owners.get(name)!.stop();
      owners.delete(name);
    }
    await assert.rejects(
      carol.order('r-carol', place('u1')),
      (e: unknown) =>
        e instanceof ProtocolError && e.code === 'UNAVAILABLE' && /no owner of shard \d+ answered within 800 ms/.test(e.message),
    );
    const again = await gw.connect('carol');
    await assert.rejects(again.subscribe('r-carol'), (e: unknown) => e instanceof ProtocolError && e.code === 'UNAVAILABLE');
    assert.ok((await counter(gw.registry, 'gateway_route_unavailable_total')) >= 2);
    assert.ok((await counter(gw.registry, 'gateway_route_retries_total', { reason: 'no_responders' })) >= 1);
    const seconds = (await gw.registry.getSingleMetric('gateway_route_seconds')!.get()).values.find(
      (x) => (x as { metricName?: string }).metricName === 'gateway_route_seconds_count',
    );
    assert.ok((seconds?.value ?? 0) >= 2, 'routed requests are timed');
    assert.equal((await w.db.sql`select 1 from journal where client_order_id = 'u1'`).length, 0, 'nothing was journaled');
    carol.close();
    again.close();
    await gw.stop();
  });
});
