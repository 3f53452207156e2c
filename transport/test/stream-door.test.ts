/**
 * Hostile frames on `engine.stream.<assessment>`, published on the real
 * NATS beside a real owner: a gateway relays only the owner's next frame of
 * the epoch it learned from the owner, whatever epoch or seq a forged frame
 * claims, and counts what it drops.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { encode } from '@msgpack/msgpack';
import { serviceGate, until } from '../../engine/testing/index.js';
import type { VaticClient } from '../client/vatic-client.js';
import { streamSubject } from '../nats/shard-subjects.js';
import { startWorld, type Owner, type RemoteGateway, type RouteWorld } from './route-harness.js';

const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));

const event = (id: string, epoch: number, seq: number): Uint8Array =>
  encode({ t: 'event', assessmentId: id, epoch, seq, event: { type: 'assessment.paused', assessmentId: id, at: 1, input: 1, n: 0 } });

describe('forged frames on a stream subject', { skip }, () => {
  let w: RouteWorld;
  let owner: Owner;
  let gw: RemoteGateway;
  let alice: VaticClient;
  const id = 'door-alice';
  const gaps: unknown[] = [];
  let deltas = 0;
  const events: Array<{ event: unknown; at: { epoch: number; seq: number } }> = [];
  before(async () => {
    w = await startWorld();
    owner = await w.startOwner('d1');
    await until(() => owner.node.servedShards().size === 1024, { what: 'the node to serve every shard', deadlineMs: 60_000 });
    assert.ok((await owner.node.offer({ kind: 'create', assessmentId: id, traderId: 'alice', tierId: 'one-step-50k' })).ok);
    gw = await w.startGateway({ deadlineMs: 10_000 });
    alice = await gw.connect('alice');
    await alice.subscribe(id, {
      onEvent: (event, at) => void events.push({ event, at }),
      onDelta: () => void deltas++,
      onGap: (g) => void gaps.push(g),
    });
  });
  after(async () => {
    alice?.close();
    await w?.stop();
  });

  const order = async (clientOrderId: string): Promise<void> => {
    const seen = events.length;
    await alice.order(id, { op: 'place', clientOrderId, symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1, stopLoss: 59_000 });
    await until(() => events.length > seen, { what: `the events of order ${clientOrderId}`, deadlineMs: 20_000 });
  };

  test('a well-formed frame of a higher epoch or far seq neither moves the stream nor reaches the trader, and the owner is asked where it stands', async () => {
    await order('before');
    await until(() => deltas > 0, { what: 'a delta of the owner', deadlineMs: 20_000 });
    assert.equal(gw.streams.malformed, 0, "the owner's deltas and events all pass the door");
    const epoch = gw.streams.hub.epochOf(id);
    const seq = gw.streams.hub.seqOf(id);
    assert.ok(epoch > 0, 'the epoch was learned from the owner');
    const rereads = gw.streams.rereads;
    const subject = streamSubject(id, w.namespace);
    w.nc.publish(subject, event(id, epoch + 1_000, 1));
    w.nc.publish(subject, event(id, 2 ** 40, 2 ** 50));
    w.nc.publish(subject, event(id, epoch, seq + 1_000));
    await until(() => gw.streams.dropped.foreign_epoch >= 2 && gw.streams.dropped.out_of_order >= 1, {
      what: 'the forged frames to be dropped',
      deadlineMs: 20_000,
    });
    assert.ok(gw.streams.rereads > rereads, 'the owner was asked for its position');
    assert.equal(gw.streams.hub.epochOf(id), epoch, 'the epoch is still the owner’s');
    assert.equal(gw.streams.hub.seqOf(id), seq, 'the seq is still the owner’s');
    const before = events.length;
    await order('after-forgery');
    const after = events.slice(before);
    assert.ok(
      after.every((e) => e.at.epoch === epoch && e.at.seq > seq && e.at.seq < seq + 1_000),
      JSON.stringify(after.map((e) => e.at)),
    );
    assert.equal(gaps.length, 0, 'the trader was never told to resync');
    assert.ok(!events.some((e) => (e.event as { type?: string }).type === 'assessment.paused'), 'no forged event reached the trader');
  });

  test('a frame whose head is right but whose body is not a live event or delta is dropped as malformed', async () => {
    const epoch = gw.streams.hub.epochOf(id);
    const seq = gw.streams.hub.seqOf(id);
    const malformed = gw.streams.dropped.malformed;
    const subject = streamSubject(id, w.namespace);
    for (const body of [
      { t: 'event', assessmentId: id, epoch, seq: seq + 1, event: { type: 'x', assessmentId: 'someone-else', at: 1, input: 1, n: 0 } },
      { t: 'event', assessmentId: id, epoch, seq: seq + 1, event: 'boom' },
      { t: 'delta', assessmentId: id, epoch, seq: seq + 1, delta: { assessmentId: id } },
    ])
      w.nc.publish(subject, encode(body));
    // A valid frame with bytes after it.
    w.nc.publish(subject, Uint8Array.from([...event(id, epoch, seq + 1), 0xc0]));
    await until(() => gw.streams.dropped.malformed >= malformed + 4, { what: 'the malformed frames to be counted', deadlineMs: 20_000 });
    assert.ok(!events.some((e) => typeof e.event !== 'object' || (e.event as { type?: string }).type === 'x'), 'none reached the trader');
    const metrics = await gw.registry.getSingleMetricAsString('gateway_stream_frames_dropped_total');
    assert.match(metrics, /reason="malformed"\} [1-9]/);
    assert.match(metrics, /reason="foreign_epoch"\} [1-9]/);
    await order('after-malformed');
  });

  test('a flood of forged frames asks the owner a bounded number of times and keeps a bounded number waiting', async () => {
    const epoch = gw.streams.hub.epochOf(id);
    const rereads = gw.streams.rereads;
    const dropped = (): number => gw.streams.dropped.foreign_epoch + gw.streams.dropped.overflow;
    const from = dropped();
    const subject = streamSubject(id, w.namespace);
    const t0 = Date.now();
    for (let k = 0; k < 2_000; k++) w.nc.publish(subject, event(id, epoch + 1 + k, 1));
    await until(() => dropped() >= from + 2_000, { what: 'every forged frame to be dropped', deadlineMs: 30_000 });
    const asked = gw.streams.rereads - rereads;
    // One read in flight per shard and one per 500 ms: the bound is the time taken, not the frames sent.
    assert.ok(asked <= 2 + Math.ceil((Date.now() - t0) / 500), `${asked} reads for 2,000 frames`);
    assert.ok(gw.streams.dropped.overflow > 0, 'frames past the waiting bound were dropped at once');
    assert.equal(gw.streams.hub.epochOf(id), epoch);
    await order('after-flood');
    assert.equal(gaps.length, 0);
  });
});
