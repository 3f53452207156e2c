import assert from 'node:assert/strict';
import { test } from 'node:test';
import { presetTiers } from '../../actors/index.js';
import { Engine, runInputs } from '../engine.js';
import type { RefusedInput } from '../market-input-gate.js';
import type { EngineInput } from '../inputs.js';
import { validateQuote } from '../market-validation.js';

const T0 = Date.parse('2026-03-02T08:00:00Z');
const YES = 'PM:FED-DEC-CUT:YES';

test('a binary tick priced in cents (97) is refused with PRICE_OUT_OF_RANGE and fills no order at 97, on 1 and 3 workers', async () => {
  const inputs: EngineInput[] = [
    { type: 'clock', time: T0 },
    { type: 'create', assessmentId: 'p', traderId: 't', tierId: 'prediction-10k' },
    { type: 'tick', seq: 1, ts: T0, symbol: YES, bid: 96, ask: 97 },
    {
      type: 'command',
      assessmentId: 'p',
      command: { kind: 'place', clientOrderId: 'm', symbol: YES, side: 'buy', type: 'market', qty: 10 },
    },
  ];
  for (const workers of [1, 3]) {
    const refused: RefusedInput[] = [];
    const { events, engine } = await runInputs(inputs, { workers, tiers: presetTiers(), onRefusedInput: (r) => refused.push(r) });
    await engine.stop();
    assert.equal(events.filter((e) => e.type === 'order.filled').length, 0);
    const rejected = events.find((e) => e.type === 'order.rejected');
    assert.equal(rejected?.type === 'order.rejected' && rejected.reason, 'NO_MARKET_DATA');
    assert.deepEqual(refused, [{ input: 2, type: 'tick', reason: 'PRICE_OUT_OF_RANGE', subject: YES }]);
    assert.equal(engine.refused.get('PRICE_OUT_OF_RANGE'), 1);
  }
});

test('invalid linear ticks are refused by reason and never move the quote an order fills at', async () => {
  const bad: Array<[Partial<EngineInput & { type: 'tick' }>, string]> = [
    [{ bid: 60_020, ask: 60_010 }, 'CROSSED_QUOTE'],
    [{ bid: 0, ask: 10 }, 'PRICE_NOT_POSITIVE'],
    [{ bid: -5, ask: 10 }, 'PRICE_NOT_POSITIVE'],
    [{ bid: 1, ask: Number.NaN }, 'PRICE_NOT_FINITE'],
    [{ bid: 1, ask: Number.POSITIVE_INFINITY }, 'PRICE_NOT_FINITE'],
    [{ bidSize: -1 }, 'INVALID_SIZE'],
    [{ askSize: Number.NaN }, 'INVALID_SIZE'],
    [{ ts: T0 + 0.5 }, 'INVALID_TIMESTAMP'],
    [{ ts: Number.NaN }, 'INVALID_TIMESTAMP'],
    [{ seq: 0 }, 'INVALID_SEQ'],
    [{ seq: Number.NaN }, 'INVALID_SEQ'],
    [{ symbol: 'DOGE-USD' }, 'UNKNOWN_SYMBOL'],
  ];
  let seq = 1;
  const inputs: EngineInput[] = [
    { type: 'clock', time: T0 },
    { type: 'create', assessmentId: 'a', traderId: 't', tierId: 'two-step-100k' },
    { type: 'tick', seq: seq++, ts: T0, symbol: 'BTC-USD', bid: 60_000, ask: 60_010 },
    ...bad.map(([over]) => ({ type: 'tick', seq: seq++, ts: T0, symbol: 'BTC-USD', bid: 50_000, ask: 50_010, ...over }) as EngineInput),
    {
      type: 'command',
      assessmentId: 'a',
      command: { kind: 'place', clientOrderId: 'm', symbol: 'BTC-USD', side: 'buy', type: 'market', qty: 0.1 },
    },
  ];
  const refused: RefusedInput[] = [];
  const { events, engine } = await runInputs(inputs, { workers: 2, tiers: presetTiers(), onRefusedInput: (r) => refused.push(r) });
  await engine.stop();
  assert.deepEqual(
    refused.map((r) => r.reason),
    bad.map(([, reason]) => reason),
  );
  assert.deepEqual(
    refused.map((r) => r.input),
    bad.map((_, k) => 3 + k),
  );
  const fill = events.find((e) => e.type === 'order.filled');
  assert.equal(fill?.type === 'order.filled' && fill.price, 60_010);
});

test('a resolution of an unknown market, of an outcome the market does not have, or of a market already resolved is refused', async () => {
  const market = 'PM:FED-DEC-CUT';
  const inputs: EngineInput[] = [
    { type: 'clock', time: T0 },
    { type: 'resolution', seq: 1, ts: T0, market: 'PM:NOPE', outcome: 'YES' },
    { type: 'resolution', seq: 2, ts: T0, market, outcome: 'MAYBE' },
    { type: 'resolution', seq: 3, ts: T0, market, outcome: 'YES' },
    { type: 'resolution', seq: 4, ts: T0, market, outcome: 'NO' },
    { type: 'clock', time: Number.NaN },
  ];
  const refused: RefusedInput[] = [];
  const { engine } = await runInputs(inputs, { workers: 1, tiers: presetTiers(), onRefusedInput: (r) => refused.push(r) });
  const snap = await engine.snapshot();
  await engine.stop();
  assert.deepEqual(
    refused.map((r) => [r.input, r.type, r.reason]),
    [
      [1, 'resolution', 'UNKNOWN_MARKET'],
      [2, 'resolution', 'UNKNOWN_OUTCOME'],
      [4, 'resolution', 'ALREADY_RESOLVED'],
      [5, 'clock', 'INVALID_TIMESTAMP'],
    ],
  );
  assert.deepEqual(snap.kernel.book.resolutions, [[market, 'YES']]);
  // A restored engine knows what was resolved: a redelivered resolution is refused the same way.
  const restored = await Engine.restore(snap, { workers: 2, tiers: presetTiers() });
  restored.submit({ type: 'resolution', seq: 9, ts: T0, market, outcome: 'NO' });
  await restored.barrier();
  await restored.stop();
  assert.equal(restored.refused.get('ALREADY_RESOLVED'), 1);
});

test('a tick of an instrument declared by an instrument input is accepted and checked by its kind', async () => {
  const inputs: EngineInput[] = [
    { type: 'instrument', instrument: { symbol: 'PM:X:YES', kind: 'binary', venue: 'tape', minQty: 1, market: 'PM:X', outcome: 'YES' } },
    { type: 'tick', seq: 1, ts: T0, symbol: 'PM:X:YES', bid: 0, ask: 1 },
    { type: 'tick', seq: 2, ts: T0, symbol: 'PM:X:YES', bid: 0.5, ask: 1.01 },
  ];
  const { engine } = await runInputs(inputs, { workers: 1 });
  await engine.stop();
  assert.deepEqual([...engine.refused], [['PRICE_OUT_OF_RANGE', 1]]);
});

test('validateQuote holds a binary share to 0 ≤ bid ≤ ask ≤ 1 and a linear one to 0 < bid ≤ ask', () => {
  const binary = { kind: 'binary' } as const;
  const linear = { kind: 'linear' } as const;
  const q = (bid: number, ask: number) => ({ ts: T0, bid, ask });
  assert.equal(validateQuote(binary, q(0, 1)), undefined);
  assert.equal(validateQuote(binary, q(0.4, 0.42)), undefined);
  assert.equal(validateQuote(binary, q(0.4, 97)), 'PRICE_OUT_OF_RANGE');
  assert.equal(validateQuote(binary, q(-0.1, 0.5)), 'PRICE_NOT_POSITIVE');
  assert.equal(validateQuote(binary, q(0.6, 0.5)), 'CROSSED_QUOTE');
  assert.equal(validateQuote(linear, q(0, 1)), 'PRICE_NOT_POSITIVE');
  assert.equal(validateQuote(linear, q(97, 97)), undefined);
  assert.equal(validateQuote(undefined, q(1, 2)), 'UNKNOWN_SYMBOL');
  assert.equal(validateQuote(linear, { ...q(1, 2), bidSize: 0 }), undefined);
});
