import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { DeltaEncoder } from '../../engine/index.js';
import { readFrameHead } from '../protocol/frame-bytes.js';
import { FrameCodec, PROTOCOL_MSGPACK } from '../protocol/protocol.js';
import { StreamPublisher } from '../nats/stream-publisher.js';

const delta = (assessmentId: string) => ({
  assessmentId,
  status: 'active',
  phase: 'challenge',
  startingBalance: 50_000,
  balance: 50_000,
  equity: 50_012.5,
  dailyFloor: -Infinity,
  maxLossFloor: 45_000,
  positions: [],
  workingOrders: 0,
  input: 7,
  at: 1_767_000_000_000,
});

describe('live frames as bytes', () => {
  test('the head of every frame the codec and the publisher write is read back without decoding the rest, and anything else is refused', () => {
    const codec = new FrameCodec(PROTOCOL_MSGPACK, 1);
    for (const [epoch, seq] of [
      [0, 1],
      [3, 127],
      [200, 128],
      [70_000, 65_536],
      [2 ** 32, 2 ** 40],
    ] as const) {
      const frame = codec.encodeShared({ t: 'event', assessmentId: 'a-é', epoch, seq, event: { type: 'order.filled' } }).slice();
      assert.deepEqual(readFrameHead(frame), { t: 'event', assessmentId: 'a-é', epoch, seq });
    }
    const sent: Uint8Array[] = [];
    const p = new StreamPublisher({ publish: (_s, data) => void sent.push(data) }, () => {});
    p.lease('gw', 0, 9, ['x'.repeat(40)]);
    p.onEncodedDeltas(new DeltaEncoder().encode([delta('x'.repeat(40))]));
    assert.deepEqual(readFrameHead(sent[0]!), { t: 'delta', assessmentId: 'x'.repeat(40), epoch: 9, seq: 1 });
    assert.equal((decode(sent[0]!) as { delta: { equity: number } }).delta.equity, 50_012.5, "the delta bytes are the shards' own");
    for (const junk of [
      new Uint8Array(0),
      new Uint8Array([0x85]),
      encode({ t: 'delta', assessmentId: 'a', epoch: 1, seq: 1 }),
      encode({ t: 'snapshot', assessmentId: 'a', epoch: 1, seq: 1, state: {} }),
      encode({ t: 'event', assessmentId: 'a', epoch: -1, seq: 1, event: {} }),
      encode({ t: 'event', assessmentId: 'a', epoch: 1, seq: 0, event: {} }),
      encode({ assessmentId: 'a', t: 'event', epoch: 1, seq: 1, event: {} }),
      encode({ t: 'event', assessmentId: 'a', epoch: 1, seq: 1, delta: {} }),
      encode({ t: 'event', assessmentId: '', epoch: 1, seq: 1, event: {} }),
      encode({ t: 'event', assessmentId: 'a', epoch: 1.5, seq: 1, event: {} }),
    ]) {
      assert.equal(readFrameHead(junk), undefined, JSON.stringify([...junk.slice(0, 12)]));
    }
    const cut = codec.encodeShared({ t: 'event', assessmentId: 'abc', epoch: 1, seq: 300, event: {} }).slice();
    for (let n = 0; n < cut.length - 1; n++) assert.equal(readFrameHead(cut.subarray(0, n)), undefined, `cut at ${n}`);
  });
});
