import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Encoder } from '@msgpack/msgpack';
import fc from 'fast-check';
import { DEFAULT_INSTRUMENTS, presetTiers } from '../../actors/index.js';
import { decodeDeltas, DeltaEncoder, forwardEncodedDeltas, type EncodedDeltas } from '../delta-encoding.js';
import type { EngineOutput } from '../engine.js';
import { DeltaWriter } from '../delta-writer.js';
import type { EngineInput, StateDelta } from '../inputs.js';
import { ShardKernel } from '../shard-kernel.js';

const delta = (id: string, equity: number, startingBalance = 50_000): StateDelta => ({
  assessmentId: id,
  status: 'active',
  phase: 'challenge',
  startingBalance,
  balance: startingBalance,
  equity,
  dailyFloor: startingBalance * 0.97,
  maxLossFloor: startingBalance * 0.9,
  workingOrders: 1,
  input: 42,
  at: 1_767_600_000_000,
  positions: [
    { symbol: 'BTC-USD', qty: 0.1, avgEntry: 60_000.5, mark: 60_100.25, unrealizedPnl: 9.975 },
  ] as unknown as StateDelta['positions'],
});

test("an encoded flush decodes to the very deltas it was made of, and carries each one's equity and starting balance", () => {
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
  assert.deepEqual(
    decodeDeltas(first).map((d) => d.equity),
    [1, 2],
  );
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

const codec = new Encoder({ ignoreUndefined: true });
const written = (d: StateDelta): Uint8Array => {
  const w = new DeltaWriter();
  w.write(d);
  return w.take();
};

test("the delta writer writes byte for byte what the gateway's codec writes, whatever the strings and numbers", () => {
  const number = fc.oneof(
    fc.integer({ min: -40, max: 300 }),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.maxSafeInteger().map((n) => -n),
    fc.double(),
    fc.constantFrom(-0, -Infinity, Infinity, NaN, 2 ** 32, 2 ** 32 - 1, -(2 ** 31) - 1, 0.1 + 0.2),
  );
  const text = fc.oneof(
    fc.string({ maxLength: 40 }),
    fc.string({ unit: 'binary', maxLength: 40 }),
    fc.string({ minLength: 30, maxLength: 300 }),
  );
  const position = fc.record({ symbol: text, qty: number, avgEntry: number, mark: number, unrealizedPnl: number });
  const delta = fc.record({
    assessmentId: text,
    status: text,
    phase: text,
    startingBalance: number,
    balance: number,
    equity: number,
    dailyFloor: number,
    maxLossFloor: number,
    positions: fc.array(position, { maxLength: 20 }),
    workingOrders: number,
    input: number,
    at: number,
  });
  fc.assert(
    fc.property(delta, (d) => assert.deepEqual(written(d), codec.encode(d))),
    { numRuns: 2_000 },
  );
});

test("a delta of another shape than the kernel's (a field left undefined) still encodes as the codec encodes it", () => {
  const odd = {
    ...delta('a', 1),
    phase: undefined,
    positions: [{ symbol: 'BTC-USD', qty: 1, avgEntry: 2, mark: undefined, unrealizedPnl: 0 }],
  } as unknown as StateDelta;
  assert.deepEqual(written(odd), codec.encode(odd));
});

test('every delta a kernel takes, flush after flush, encodes as the codec encodes it', () => {
  const T0 = Date.UTC(2026, 2, 2, 8);
  const kernel = new ShardKernel({ tiers: presetTiers(), instruments: DEFAULT_INSTRUMENTS });
  let i = 0;
  const apply = (input: EngineInput): void => kernel.apply({ i: i++, input });
  apply({ type: 'clock', time: T0 });
  apply({ type: 'tick', seq: 1, symbol: 'BTC-USD', ts: T0, bid: 59_995.5, ask: 60_005.25 });
  apply({ type: 'tick', seq: 2, symbol: 'ETH-USD', ts: T0, bid: 3_000, ask: 3_001 });
  const tiers = ['one-step-50k', 'two-step-100k', 'intraday-trail-50k'];
  for (let a = 0; a < 30; a++) {
    apply({ type: 'create', assessmentId: `acct-${a}-é`.repeat(1 + (a % 3)), traderId: `t${a}`, tierId: tiers[a % 3]! });
  }
  kernel.watch(kernel.assessmentIds());
  for (const [a, id] of kernel.assessmentIds().entries()) {
    if (a % 4 === 3) continue; // some flat accounts
    apply({
      type: 'command',
      assessmentId: id,
      command: { kind: 'place', clientOrderId: 'b', symbol: 'BTC-USD', side: a % 2 ? 'sell' : 'buy', type: 'market', qty: 0.01 * (a + 1) },
    });
    if (a % 3 === 0)
      apply({
        type: 'command',
        assessmentId: id,
        command: { kind: 'place', clientOrderId: 'e', symbol: 'ETH-USD', side: 'buy', type: 'market', qty: 1.5 },
      });
  }
  let seen = 0;
  for (let k = 0; k < 20; k++) {
    apply({ type: 'tick', seq: 3 + k, symbol: 'BTC-USD', ts: T0 + k * 1_000, bid: 60_000 - 37.3 * k, ask: 60_010 - 37.3 * k });
    const deltas = kernel.takeDeltas();
    const batch = new DeltaEncoder().encode(deltas);
    let from = 0;
    deltas.forEach((d, n) => {
      assert.deepEqual(batch.bytes.subarray(from, batch.ends[n]), codec.encode(d), `${d.assessmentId} at tick ${k}`);
      from = batch.ends[n]!;
    });
    seen += deltas.length;
  }
  assert.equal(seen, 20 * 30);
});
