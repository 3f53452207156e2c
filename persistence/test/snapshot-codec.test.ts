import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_INSTRUMENTS, parseTier } from '../../actors/index.js';
import { ShardKernel, type EngineInput, type EngineSnapshot } from '../../engine/index.js';
import { decodeSnapshot, encodeSnapshot, SnapshotDecodeError } from '../index.js';

// A phase without a daily rule keeps its daily floor at −Infinity: the value JSON would lose.
const tier = parseTier({
  id: 'no-daily',
  version: 1,
  name: 'No daily',
  phases: [{ name: 'challenge', startingBalance: 10_000, rules: { maxLoss: { limit: { pct: 10 } } } }],
});
const inputs: EngineInput[] = [
  { type: 'clock', time: Date.parse('2026-01-05T10:00:00Z') },
  { type: 'create', assessmentId: 'a1', traderId: 't1', tierId: 'no-daily' },
  { type: 'tick', seq: 1, ts: 1, symbol: 'ETH-USD', bid: 3000, ask: 3001 },
  {
    type: 'command',
    assessmentId: 'a1',
    command: { kind: 'place', clientOrderId: 'c1', symbol: 'ETH-USD', side: 'buy', type: 'market', qty: 1 },
  },
];

/** Canonical text of any value (undefined-valued keys drop out, floats stay exact). */
const canon = (v: unknown) => encodeSnapshot(v as EngineSnapshot);

function snapshotAfter(n: number): EngineSnapshot {
  const k = new ShardKernel({ tiers: [tier], instruments: DEFAULT_INSTRUMENTS });
  inputs.slice(0, n).forEach((input, i) => k.apply({ i, input }));
  return { lastInput: n - 1, kernel: k.snapshot() };
}

test('the snapshot codec round-trips an absent floor of minus infinity exactly', () => {
  const snap = snapshotAfter(inputs.length);
  assert.equal(snap.kernel.actors[0]!.state.rules.dailyFloor, -Infinity);
  const back = decodeSnapshot(encodeSnapshot(snap));
  assert.equal(back.kernel.actors[0]!.state.rules.dailyFloor, -Infinity);
  assert.equal(canon(back), canon(snap));
});

test('decoding text that is not a snapshot fails with a clear error', () => {
  assert.throws(() => decodeSnapshot('{"lastInput":'), SnapshotDecodeError);
  assert.throws(() => decodeSnapshot('{"lastInput":3}'), /missing lastInput or kernel.actors/);
});

test('a snapshot decoded from its text continues the run exactly', () => {
  const restored = ShardKernel.restore(decodeSnapshot(encodeSnapshot(snapshotAfter(3))).kernel);
  restored.apply({ i: 3, input: inputs[3]! });
  const whole = new ShardKernel({ tiers: [tier], instruments: DEFAULT_INSTRUMENTS });
  inputs.forEach((input, i) => whole.apply({ i, input }));
  assert.equal(canon(restored.state('a1')), canon(whole.state('a1')));
  assert.equal(restored.state('a1')!.positions['ETH-USD']!.qty, 1);
});
