import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeDeltas, DeltaEncoder, forwardEncodedDeltas, type EncodedDeltas } from '../delta-encoding.js';
import type { EngineOutput } from '../engine.js';
import type { StateDelta } from '../inputs.js';

const delta = (id: string, equity: number, startingBalance = 50_000): StateDelta => ({
  assessmentId: id, status: 'active', phase: 'challenge', startingBalance, balance: startingBalance, equity, dailyFloor: startingBalance * 0.97,
  maxLossFloor: startingBalance * 0.9, workingOrders: 1, input: 42,
  positions: [{ symbol: 'BTC-USD', qty: 0.1, avgEntry: 60_000.5, mark: 60_100.25, unrealizedPnl: 9.975 }] as unknown as StateDelta['positions'],
});

test('an encoded flush decodes to the very deltas it was made of, and carries each one\'s equity and starting balance', () => {
  const deltas = [delta('a', 50_123.5), delta('b', 9_871.25, 10_000), delta('c'.repeat(300), -1)];
  const batch = new DeltaEncoder().encode(deltas);
  assert.deepEqual(decodeDeltas(batch), deltas);
  assert.deepEqual(batch.ids, ['a', 'b', 'c'.repeat(300)]);
  assert.deepEqual([...batch.equity], [50_123.5, 9_871.25, -1]);
  assert.deepEqual([...batch.startingBalance], [50_000, 10_000, 50_000]);
  assert.equal(batch.input, 42);
  assert.equal(batch.ends.at(-1), batch.bytes.length);
});

test('an encoder reused across flushes keeps every earlier flush intact', () => {
  const encoder = new DeltaEncoder();
  const first = encoder.encode([delta('a', 1), delta('b', 2)]);
  const second = encoder.encode(Array.from({ length: 50 }, (_, k) => delta(`x${k}`, k)));
  assert.deepEqual(decodeDeltas(first).map((d) => d.equity), [1, 2]);
  assert.equal(decodeDeltas(second).length, 50);
});

test('outputs behind a fan-out each get an encoded flush in the form they take, decoded once for all that take objects', () => {
  const deltas = [delta('a', 50_500), delta('b', 49_000)];
  const batch = new DeltaEncoder().encode(deltas);
  const bytes: EncodedDeltas[] = [];
  const objects: Array<readonly StateDelta[]> = [];
  const outputs: EngineOutput[] = [
    { onEvents: () => {}, onEncodedDeltas: (b) => bytes.push(b) },
    { onEvents: () => {}, onDeltas: (d) => objects.push(d) },
    { onEvents: () => {}, onDeltas: (d) => objects.push(d) },
    { onEvents: () => {} },
  ];
  forwardEncodedDeltas(outputs, batch, 0);
  assert.deepEqual(bytes, [batch]);
  assert.equal(objects.length, 2);
  assert.deepEqual(objects[0], deltas);
  assert.equal(objects[0], objects[1], 'decoded once, the same array to both');
});
