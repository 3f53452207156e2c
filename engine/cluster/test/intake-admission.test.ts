import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseCommand } from '../../../actors/index.js';
import { admitIntake, plainPlace } from '../intake-admission.js';

/** A small seeded generator (xorshift32), so every run checks the same commands. */
function random(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 2 ** 32;
  };
}

const NUMBERS = [1, 0.5, 60_000.25, 1e-9, 0, -1, -0, Number.NaN, Infinity, -Infinity, Number.MAX_VALUE, '1', null, true];
const STRINGS = ['x', 'BTC-USD', 'a'.repeat(64), 'a'.repeat(65), '', 'é', 7, null, ['x']];
const POOLS: Record<string, readonly unknown[]> = {
  kind: ['place', 'place', 'place', 'cancel', 'modify', 'PLACE', 1],
  clientOrderId: STRINGS,
  symbol: STRINGS,
  side: ['buy', 'sell', 'Buy', '', 0],
  type: ['market', 'limit', 'stop', 'stop-limit', null],
  qty: NUMBERS,
  limitPrice: NUMBERS,
  stopPrice: NUMBERS,
  stopLoss: NUMBERS,
  takeProfit: NUMBERS,
  reduceOnly: [true, false, 'true', 0, null],
  tif: ['gtc', 'day', 'ioc', null],
  orderId: ['o1'],
  extra: [1, 'x'],
};
const REQUIRED = ['kind', 'clientOrderId', 'symbol', 'side', 'type', 'qty'];

/** A place command, mostly valid, each field now and then missing, out of range, of the wrong type, undefined, or unknown. */
function generate(next: () => number): Record<string, unknown> {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const valid: Record<string, unknown> = {
    kind: 'place',
    clientOrderId: `o${Math.floor(next() * 1e6)}`,
    symbol: 'ETH-USD',
    side: 'buy',
    type: 'market',
    qty: 0.2,
  };
  const out: Record<string, unknown> = {};
  // Keys in a shuffled order: the schema writes its own order whatever the input's.
  const keys = Object.keys(POOLS).sort(() => next() - 0.5);
  for (const key of keys) {
    const r = next();
    if (REQUIRED.includes(key)) {
      if (r < 0.8) out[key] = valid[key];
      else if (r < 0.97) out[key] = pick(POOLS[key]!);
      else if (r < 0.985) out[key] = undefined;
      // else missing
    } else if (r < 0.15) out[key] = pick(POOLS[key]!);
    else if (r < 0.16 && key !== 'orderId' && key !== 'extra') out[key] = undefined;
  }
  return out;
}

test("the intake's plain place path accepts only what the command schema accepts, and builds the same command with its fields in the schema's order", () => {
  const next = random(14);
  let fast = 0;
  let schemaAccepted = 0;
  for (let n = 0; n < 50_000; n++) {
    const raw = generate(next);
    let expected: unknown;
    try {
      expected = parseCommand(raw);
      schemaAccepted++;
    } catch {
      expected = undefined;
    }
    const got = plainPlace(raw);
    if (got === undefined) continue;
    fast++;
    assert.notEqual(expected, undefined, `accepted what the schema refuses: ${JSON.stringify(raw)}`);
    assert.deepStrictEqual(got, expected);
    assert.deepEqual(Object.keys(got), Object.keys(expected as object), 'fields in the same order');
  }
  assert.ok(fast > 0.9 * schemaAccepted && fast > 5_000, `the plain path took ${fast} of ${schemaAccepted} valid commands`);
});

test('a command the plain path leaves to the schema is refused with the schema message, and one it takes is admitted as before', () => {
  const known = new Set(['a1']);
  const tiers = new Set<string>();
  const bad = admitIntake(
    {
      kind: 'command',
      assessmentId: 'a1',
      command: { kind: 'place', clientOrderId: 'o1', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: -1 },
    },
    known,
    tiers,
  );
  assert.ok(!bad.ok && bad.code === 'INVALID_COMMAND' && bad.message.includes('qty'));
  const good = admitIntake(
    {
      kind: 'command',
      assessmentId: 'a1',
      command: { qty: 1, kind: 'place', clientOrderId: 'o1', symbol: 'BTC-USD', side: 'sell', type: 'limit', limitPrice: 5 },
    },
    known,
    tiers,
  );
  assert.ok(good.ok);
  assert.equal(good.clientOrderId, 'o1');
  assert.deepEqual(Object.keys((good.input as { command: object }).command), [
    'kind',
    'clientOrderId',
    'symbol',
    'side',
    'type',
    'qty',
    'limitPrice',
  ]);
});
