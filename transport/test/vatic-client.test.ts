import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decode, encode } from '@msgpack/msgpack';
import { VaticClient, type SocketLike } from '../client/vatic-client.js';

/** A socket the test plays the server on. */
class FakeSocket implements SocketLike {
  static last: FakeSocket;
  binaryType = 'arraybuffer';
  readyState = 1;
  sent: Array<Record<string, unknown>> = [];
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor() {
    FakeSocket.last = this;
    setImmediate(() => this.onopen?.({}));
  }
  send(data: Uint8Array | string): void {
    const frame = decode(data as Uint8Array) as Record<string, unknown>;
    this.sent.push(frame);
    if (frame['t'] === 'auth') this.push({ t: 'ready', traderId: 'alice', roles: ['trader'], heartbeatMs: 30_000, limits: {} });
  }
  close(): void {}
  push(frame: object): void {
    const bytes = encode(frame);
    this.onmessage?.({ data: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) });
  }
}

test('the client notices a gap in seq, asks to resume from the last frame it holds, and takes the replay in order', async () => {
  const client = await VaticClient.connect('ws://x', 'token', { WebSocket: FakeSocket });
  const ws = FakeSocket.last;
  const seen: number[] = [];
  const gaps: Array<{ expected: number; got: number }> = [];
  const sub = client.subscribe('a1', {
    onDelta: (_d, at) => seen.push(at.seq),
    onEvent: (_e, at) => seen.push(at.seq),
    onGap: (g) => gaps.push(g),
  });
  const request = ws.sent.at(-1)!;
  ws.push({ t: 'snapshot', id: request['id'], assessmentId: 'a1', epoch: 2, seq: 10, state: {} });
  assert.deepEqual(await sub, { epoch: 2, seq: 10 });
  ws.push({ t: 'delta', assessmentId: 'a1', epoch: 2, seq: 11, delta: {} });
  ws.push({ t: 'delta', assessmentId: 'a1', epoch: 2, seq: 14, delta: {} }); // 12 and 13 were lost
  assert.deepEqual(gaps, [{ expected: 12, got: 14 }]);
  const resume = ws.sent.at(-1)!;
  assert.deepEqual({ t: resume['t'], resume: resume['resume'] }, { t: 'sub', resume: { epoch: 2, seq: 11 } });
  ws.push({ t: 'event', assessmentId: 'a1', epoch: 2, seq: 15, event: {} }); // live frame racing the replay: ignored
  for (const seq of [12, 13, 14, 15]) ws.push({ t: 'delta', assessmentId: 'a1', epoch: 2, seq, delta: {} });
  ws.push({ t: 'resumed', id: resume['id'], assessmentId: 'a1', epoch: 2, from: 12, to: 15 });
  ws.push({ t: 'delta', assessmentId: 'a1', epoch: 2, seq: 16, delta: {} });
  assert.deepEqual(seen, [11, 12, 13, 14, 15, 16], 'every frame once, in order');
  assert.equal(client.gaps, 1);
});

test('a new epoch (the engine was restored) is a gap too, answered by a fresh snapshot', async () => {
  const client = await VaticClient.connect('ws://x', 'token', { WebSocket: FakeSocket });
  const ws = FakeSocket.last;
  const snapshots: number[] = [];
  const sub = client.subscribe('a1', { onSnapshot: (_s, at) => snapshots.push(at.epoch) });
  ws.push({ t: 'snapshot', id: ws.sent.at(-1)!['id'], assessmentId: 'a1', epoch: 2, seq: 5, state: {} });
  await sub;
  ws.push({ t: 'delta', assessmentId: 'a1', epoch: 3, seq: 1, delta: {} });
  const resume = ws.sent.at(-1)!;
  assert.deepEqual(resume['resume'], { epoch: 2, seq: 5 });
  ws.push({ t: 'snapshot', id: resume['id'], assessmentId: 'a1', epoch: 3, seq: 1, state: {} });
  assert.deepEqual(snapshots, [2, 3]);
  assert.deepEqual(client.position('a1'), { epoch: 3, seq: 1 });
});
