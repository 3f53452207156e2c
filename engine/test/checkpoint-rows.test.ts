import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MessageChannel } from 'node:worker_threads';
import {
  concatRows,
  encodeActorRows,
  encodeCheckpoint,
  mergeEncoded,
  parseActorRows,
  rowBuffers,
  shardKey,
  shardOf,
  type ActorSnapshot,
  type EncodedCheckpoint,
  type KernelSnapshot,
} from '../index.js';
import { decodeJson } from '../json-codec.js';

const actor = (id: string, extra: Record<string, unknown> = {}, cursor?: [number, number]): ActorSnapshot => ({
  state: {
    id,
    tierId: 't',
    balance: 100,
    note: 'tab\there, newline\nhere, backslash \\ here',
    ...extra,
  } as unknown as ActorSnapshot['state'],
  quarantined: id.endsWith('q'),
  ...(cursor === undefined ? {} : { cursor }),
});

test('actor rows read back to the same ids, states, quarantine flags, cursors and shard keys, through COPY escaping', () => {
  const actors = [actor('a1', {}, [7, 2]), actor('a2q', { loss: -Infinity }), actor('weird\tid\\x')];
  const { all } = encodeActorRows(actors, { chunkRows: 2 });
  assert.equal(all!.count, 3);
  assert.equal(all!.chunks.length, 2);
  const back = [...parseActorRows(all!)];
  assert.deepEqual(
    back.map((r) => r.assessmentId),
    ['a1', 'a2q', 'weird\tid\\x'],
  );
  assert.deepEqual(
    back.map((r) => r.shardKey),
    actors.map((a) => shardKey(shardOf(a.state.id))),
  );
  assert.deepEqual(
    back.map((r) => decodeJson(r.state)),
    actors.map((a) => a.state),
  );
  assert.deepEqual(
    back.map((r) => r.quarantined),
    [false, true, false],
  );
  assert.deepEqual(
    back.map((r) => [r.cursorInput, r.cursorN]),
    [
      ['7', '2'],
      [null, null],
      [null, null],
    ],
  );
});

test('rows too long for the room left in a chunk, or for any chunk, start a new one and every row reads back whole, multi-byte text included', () => {
  // ~0.2 MB and ~1.5 MB of UTF-8 (3 bytes per character): over a chunk's room after a few rows, and over a whole chunk's.
  const actors = Array.from({ length: 12 }, (_, i) =>
    actor(`big-${i}`, { blob: i % 5 === 2 ? '€'.repeat(i === 7 ? 500_000 : 70_000) : 'ünïcödé' }),
  );
  const { all } = encodeActorRows(actors, { chunkRows: 500 });
  assert.ok(all!.chunks.length > 1, 'the rows did not fit one chunk');
  const back = [...parseActorRows(all!)];
  assert.deepEqual(
    back.map((r) => r.assessmentId),
    actors.map((a) => a.state.id),
  );
  assert.deepEqual(
    back.map((r) => decodeJson(r.state)),
    actors.map((a) => a.state),
  );
  for (const c of all!.chunks) assert.equal(c.byteLength, c.buffer.byteLength, 'a chunk owns exactly its bytes');
});

test('rows grouped by virtual shard hold each actor once, under its own shard, and states over the limit are reported', () => {
  const actors = Array.from({ length: 200 }, (_, i) => actor(`acc-${i}`, i === 5 ? { blob: 'x'.repeat(5_000) } : {}));
  const { byShard } = encodeActorRows(actors, { byShard: true, maxStateBytes: 4_096 });
  let seen = 0;
  for (const [v, rows] of byShard!) {
    for (const r of parseActorRows(rows)) {
      assert.equal(shardOf(r.assessmentId), v);
      seen++;
    }
  }
  assert.equal(seen, 200);
  const oversized = [...byShard!.values()].flatMap((r) => r.oversized);
  assert.deepEqual(
    oversized.map((o) => o.assessmentId),
    ['acc-5'],
  );
  assert.ok(oversized[0]!.bytes > 4_096);
});

test('shard parts merge into one checkpoint with the newest market position and every row', () => {
  const base = { now: 1, lastInput: 9, book: {} as KernelSnapshot['book'], tiers: [] };
  const p1 = encodeCheckpoint({ ...base, lastTickSeq: 4, actors: [actor('a'), actor('b')] });
  const p2 = encodeCheckpoint({ ...base, lastTickSeq: 6, actors: [actor('c')] });
  const m = mergeEncoded([p1, p2], 12);
  assert.equal(m.count, 3);
  assert.equal(m.meta.lastTickSeq, 6);
  assert.equal(m.meta.lastInput, 12);
  assert.deepEqual(
    [...parseActorRows(m.all!)].map((r) => r.assessmentId),
    ['a', 'b', 'c'],
  );
  assert.equal(concatRows([m.all!]).count, 3);
});

test('row chunks are UTF-8 bytes that each own their buffer, so a transfer across threads moves them whole', async () => {
  const actors = [actor('é-1', { note: 'naïve ✓' }), actor('a2'), actor('a3')];
  const encoded = encodeCheckpoint(
    { now: 1, lastInput: 3, lastTickSeq: 1, book: {} as KernelSnapshot['book'], tiers: [], actors },
    { chunkRows: 2 },
  );
  const buffers = rowBuffers(encoded);
  assert.equal(buffers.length, 2);
  for (const [k, c] of encoded.all!.chunks.entries()) assert.equal(c.byteLength, buffers[k]!.byteLength);
  const { port1, port2 } = new MessageChannel();
  const received = new Promise<EncodedCheckpoint>((resolve) => port2.once('message', resolve));
  port1.postMessage(encoded, buffers);
  const moved = await received;
  port1.close();
  assert.equal(encoded.all!.chunks[0]!.byteLength, 0, 'the sender no longer holds the bytes');
  assert.deepEqual(
    [...parseActorRows(moved.all!)].map((r) => [r.assessmentId, (decodeJson(r.state) as { note?: string }).note]),
    [
      ['é-1', 'naïve ✓'],
      ['a2', 'tab\there, newline\nhere, backslash \\ here'],
      ['a3', 'tab\there, newline\nhere, backslash \\ here'],
    ],
  );
});
