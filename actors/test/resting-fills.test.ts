import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier, type Instrument } from '../index.js';
import type { OutputEvent } from '../../engine/index.js';
import { Harness, HOUR, ofType, T0, types } from './harness.js';

const closing: Instrument = {
  symbol: 'PM:ELECTION:YES',
  kind: 'binary',
  venue: 'test',
  minQty: 1,
  market: 'PM:ELECTION',
  outcome: 'YES',
  closesAt: T0 + HOUR,
};
const binaryTier = parseTier({
  id: 'resting-binary',
  version: 1,
  name: 'Resting binary',
  timezone: 'UTC',
  kinds: ['binary'],
  fees: { linear: 0, binary: 0 },
  phases: [{ name: 'challenge', startingBalance: 10_000, rules: {} }],
});

/** A linear 100K tier without fees whose first phase runs `rules`. */
function linear(rules: object) {
  return parseTier({
    id: 'resting',
    version: 1,
    name: 'Resting orders',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    phases: [{ name: 'challenge', startingBalance: 100_000, rules }],
  });
}

function filled(out: readonly OutputEvent[]): number {
  return ofType(out, 'order.filled').reduce((sum, e) => sum + e.qty, 0);
}

for (const mode of ['indexed', 'full-scan'] as const) {
  test(`a resting bid on a prediction market is cancelled MARKET_CLOSED at the first clock at its close and never fills after it (${mode} kernel)`, () => {
    const h = new Harness(binaryTier, { mode, instruments: [closing] });
    h.tick(closing.symbol, 0.5, 0.5);
    const bid = ofType(h.place({ symbol: closing.symbol, side: 'buy', type: 'limit', qty: 10, limitPrice: 0.4 }), 'order.accepted')[0]!
      .order;

    const before = h.clock(T0 + HOUR - 1);
    const close = h.clock(T0 + HOUR + 30_000);
    const after = h.tick(closing.symbol, 0.3, 0.3);

    assert.deepEqual(types(before), []);
    assert.deepEqual(
      ofType(close, 'order.cancelled').map((e) => [e.orderId, e.reason]),
      [[bid.id, 'MARKET_CLOSED']],
    );
    assert.equal(filled(after), 0);
    assert.deepEqual(h.state().orders, {});
  });

  test(`a tick stamped at or after a market's close fills none of its resting orders, even before the clock reaches the close (${mode} kernel)`, () => {
    const h = new Harness(binaryTier, { mode, instruments: [closing] });
    h.tick(closing.symbol, 0.5, 0.5);
    h.place({ symbol: closing.symbol, side: 'buy', type: 'limit', qty: 10, limitPrice: 0.4 });

    const late = h.tick(closing.symbol, 0.3, 0.3, { ts: T0 + HOUR });
    const market = h.buy(closing.symbol, 1);

    // The tick's stamp moves time to the close: the close fires first, as of its own instant.
    assert.deepEqual(types(late), ['order.cancelled']);
    assert.deepEqual(
      ofType(late, 'order.cancelled').map((e) => [e.reason, e.at]),
      [['MARKET_CLOSED', T0 + HOUR]],
    );
    assert.deepEqual(
      ofType(market, 'order.rejected').map((e) => e.reason),
      ['MARKET_CLOSED'],
    );
    assert.deepEqual(h.state().positions, {});
  });

  test(`a resting entry does not fill inside a blackout window on its symbol and fills after it (${mode} kernel)`, () => {
    const h = new Harness(linear({ blackouts: [{ from: T0 + HOUR, to: T0 + 2 * HOUR, symbols: ['ETH-USD'], label: 'CPI' }] }), { mode });
    h.tick('ETH-USD', 2_000, 2_000);
    h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_950 });

    h.clock(T0 + HOUR);
    const inside = h.tick('ETH-USD', 1_940, 1_940);
    const stampedInside = h.tick('ETH-USD', 1_930, 1_930, { ts: T0 + HOUR + 1 });
    h.clock(T0 + 2 * HOUR);
    const after = h.tick('ETH-USD', 1_945, 1_945);

    assert.equal(filled(inside), 0);
    assert.equal(filled(stampedInside), 0);
    assert.deepEqual(
      ofType(after, 'order.filled').map((e) => [e.qty, e.price]),
      [[1, 1_945]],
    );
  });
}

test('a resting entry does not fill on a tick stamped inside a blackout while the clock is still before it', () => {
  const h = new Harness(linear({ blackouts: [{ from: T0 + HOUR, to: T0 + 2 * HOUR }] }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_950 });

  const out = h.tick('ETH-USD', 1_940, 1_940, { ts: T0 + HOUR });

  assert.equal(filled(out), 0);
});

test('a stop-loss fills inside a blackout window by default: protective orders keep working', () => {
  const h = new Harness(linear({ blackouts: [{ from: T0 + HOUR, to: T0 + 2 * HOUR }] }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 1, { stopLoss: 1_900, takeProfit: 2_100 });
  h.clock(T0 + HOUR);

  const drop = h.tick('ETH-USD', 1_890, 1_890);

  assert.deepEqual(
    ofType(drop, 'order.filled').map((e) => [e.qty, e.price]),
    [[1, 1_890]],
  );
});

test('a tier whose blackout forbids protective fills holds the stop-loss and take-profit until the window ends', () => {
  const h = new Harness(linear({ blackouts: [{ from: T0 + HOUR, to: T0 + 2 * HOUR, protectiveFills: false }] }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 1, { stopLoss: 1_900, takeProfit: 2_100 });
  h.clock(T0 + HOUR);

  const drop = h.tick('ETH-USD', 1_890, 1_890);
  const rally = h.tick('ETH-USD', 2_110, 2_110);
  h.clock(T0 + 2 * HOUR);
  const after = h.tick('ETH-USD', 2_105, 2_105);

  assert.equal(filled(drop), 0);
  assert.equal(filled(rally), 0);
  assert.deepEqual(
    ofType(after, 'order.filled').map((e) => [e.qty, e.price]),
    [[1, 2_105]],
  );
});

test('a resting order does not fill on a tick stamped inside the weekend window before the clock reaches it', () => {
  // Friday 20:00 UTC; the window opens Friday 21:00.
  const h = new Harness(linear({ weekendFlat: { from: { day: 5, time: '21:00' }, to: { day: 0, time: '21:00' } } }), {
    start: Date.UTC(2024, 0, 5, 20),
  });
  h.tick('ETH-USD', 2_000, 2_000);
  h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_950 });

  const out = h.tick('ETH-USD', 1_940, 1_940, { ts: Date.UTC(2024, 0, 5, 21, 5) });

  assert.equal(filled(out), 0);
});

test('a weekend window that forbids protective fills holds a stop-loss hit on a tick stamped inside it', () => {
  const h = new Harness(
    linear({ weekendFlat: { from: { day: 5, time: '21:00' }, to: { day: 0, time: '21:00' }, protectiveFills: false } }),
    { start: Date.UTC(2024, 0, 5, 20) },
  );
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 1, { stopLoss: 1_900 });

  const out = h.tick('ETH-USD', 1_890, 1_890, { ts: Date.UTC(2024, 0, 5, 21, 5) });

  // The stamp moves time past the window start: the window flattens at the quotes in force then (2,000), not at the stop.
  assert.deepEqual(
    ofType(out, 'order.filled').map((e) => [e.price, e.liquidation, e.at]),
    [[2_000, true, Date.UTC(2024, 0, 5, 21)]],
  );
  assert.deepEqual(h.state().positions, {});
});
