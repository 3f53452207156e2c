import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { serviceGate } from '../../engine/testing/service-gate.js';
import { ProtocolError } from '../gateway/client/vatic-client.js';
import { startWorld, until, type Owner, type RouteWorld } from './route-harness.js';

const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));
const place = (clientOrderId: string, qty = 0.1) => ({ op: 'place' as const, clientOrderId, symbol: 'BTC-USD', side: 'buy' as const, type: 'market' as const, qty, stopLoss: 59_000 });

/** A counter's value with these labels (0 when absent). */
async function counter(registry: import('prom-client').Registry, name: string, labels: Record<string, string> = {}): Promise<number> {
  const values = (await registry.getSingleMetric(name)!.get()).values;
  return values.filter((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x)).reduce((a, v) => a + v.value, 0);
}

describe('routing commands and streams to the owner of each shard, across a change of owner', { skip }, () => {
  let w: RouteWorld;
  let a: Owner;
  before(async () => {
    w = await startWorld();
    a = await w.startOwner();
    for (const [id, trader] of [['r-alice', 'alice'], ['r-bob', 'bob']]) {
      const r = await a.node.offer({ kind: 'create', assessmentId: id!, traderId: trader!, tierId: 'one-step-50k' });
      assert.ok(r.ok, JSON.stringify(r));
    }
  });
  after(async () => {
    await w?.stop();
  });

  test('an order whose answer is lost while its shard changes owner is acknowledged once, with the original position, journaled once and filled once', async () => {
    const gw = await w.startGateway({ attemptTimeoutMs: 400, deadlineMs: 20_000 });
    const alice = await gw.connect('alice');
    const fills: unknown[] = [];
    await alice.subscribe('r-alice', { onEvent: (e) => void ((e as { type: string }).type === 'order.filled' && fills.push(e)) });
    a.holdReplies(); // the node journals and applies; its answer never reaches the gateway
    const acked = alice.order('r-alice', place('k1', 0.2));
    await until('the order in the journal', async () => (await w.db.sql`select 1 from journal where client_order_id = 'k1'`).length === 1);
    await until('the gateway to give up on the first attempt', async () => (await counter(gw.registry, 'gateway_route_retries_total', { reason: 'timeout' })) >= 1);
    await a.stop(); // drained, checkpointed: nobody serves the shard for a while
    a = await w.startOwner(); // the new owner recovers from the checkpoint and the journal, at a new epoch
    const position = await acked;
    const rows = await w.db.sql<{ position: string }[]>`select position from journal where assessment_id = 'r-alice' and client_order_id = 'k1'`;
    assert.equal(rows.length, 1, 'journaled once');
    assert.equal(position, Number(rows[0]!.position), 'the answer is the original acceptance');
    assert.ok(await counter(gw.registry, 'gateway_route_retries_total') >= 2, 'the order was sent again');
    await w.tick(60_200);
    await until('the new owner to fill it', async () => (await a.node.state('r-alice'))?.positions['BTC-USD']?.qty !== undefined);
    assert.equal((await a.node.state('r-alice'))!.positions['BTC-USD']!.qty, 0.2, 'filled once');
    alice.close();
    await gw.stop();
    // The same order sent again by the trader, answered at the first attempt, is the duplicate it is.
    const patient = await w.startGateway({ attemptTimeoutMs: 20_000, deadlineMs: 30_000 });
    const again = await patient.connect('alice');
    await assert.rejects(again.order('r-alice', place('k1', 0.2)), (e: unknown) => e instanceof ProtocolError && e.code === 'DUPLICATE_CLIENT_ORDER_ID');
    again.close();
    await patient.stop();
  });

  test('the live stream changes epoch when the shard changes owner, the client takes a fresh snapshot, and no fill is missed', async () => {
    const gw = await w.startGateway({ attemptTimeoutMs: 2_000, deadlineMs: 20_000 });
    const bob = await gw.connect('bob');
    const snapshots: Array<{ epoch: number; state: { positions: Record<string, { qty: number }> } }> = [];
    const fills: Array<{ epoch: number; clientOrderId: string }> = [];
    const first = await bob.subscribe('r-bob', {
      onSnapshot: (state, at) => snapshots.push({ epoch: at.epoch, state: state as { positions: Record<string, { qty: number }> } }),
      onEvent: (e, at) => {
        const ev = e as { type: string; clientOrderId?: string };
        if (ev.type === 'order.filled') fills.push({ epoch: at.epoch, clientOrderId: String(ev.clientOrderId ?? '') });
      },
    });
    assert.equal(first.epoch, a.node.epoch, 'the stream carries the owner\'s epoch');
    await bob.order('r-bob', place('b1', 0.1));
    await w.tick(60_300);
    await until('the first fill on the stream', () => fills.length === 1);
    const before = a.node.epoch;
    await a.stop();
    a = await w.startOwner();
    assert.ok(a.node.epoch > before);
    await until('a snapshot at the new owner\'s epoch', () => snapshots.some((s) => s.epoch === a.node.epoch));
    const fresh = snapshots.find((s) => s.epoch === a.node.epoch)!;
    assert.equal(fresh.state.positions['BTC-USD']?.qty, 0.1, 'the fresh snapshot holds the fill made under the old owner');
    assert.ok(bob.gaps >= 1, 'the client saw the stream move and resynced');
    await bob.order('r-bob', place('b2', 0.1));
    await w.tick(60_400);
    await until('the second fill, on the new owner\'s stream', () => fills.length === 2);
    assert.equal(fills[1]!.epoch, a.node.epoch);
    assert.deepEqual(bob.position('r-bob')?.epoch, a.node.epoch);
    bob.close();
    await gw.stop();
  });

  test('with nobody serving the shard, an order is answered UNAVAILABLE after the deadline and a subscription is refused UNAVAILABLE', async () => {
    const gw = await w.startGateway({ attemptTimeoutMs: 200, deadlineMs: 800 });
    const alice = await gw.connect('alice');
    await a.stop();
    await assert.rejects(alice.order('r-alice', place('u1')), (e: unknown) => e instanceof ProtocolError && e.code === 'UNAVAILABLE' && /no owner of shard \d+ answered within 800 ms/.test(e.message));
    const carol = await gw.connect('alice');
    await assert.rejects(carol.subscribe('r-alice'), (e: unknown) => e instanceof ProtocolError && e.code === 'UNAVAILABLE');
    assert.ok(await counter(gw.registry, 'gateway_route_unavailable_total') >= 2);
    assert.ok(await counter(gw.registry, 'gateway_route_retries_total', { reason: 'no_responders' }) >= 1);
    const seconds = (await gw.registry.getSingleMetric('gateway_route_seconds')!.get()).values.find((v) => (v as { metricName?: string }).metricName === 'gateway_route_seconds_count');
    assert.ok((seconds?.value ?? 0) >= 2, 'routed requests are timed');
    assert.equal((await w.db.sql`select 1 from journal where client_order_id = 'u1'`).length, 0, 'nothing was journaled');
    alice.close();
    carol.close();
    a = await w.startOwner();
    await gw.stop();
  });
});
