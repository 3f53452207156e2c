import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { Harness, ofType } from './harness.js';

/** No rules and no fees: only reduce-only semantics are under test. */
const tier = parseTier({
  id: 'reduce-only',
  version: 1,
  name: 'Reduce-only',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 10,
  fees: { linear: 0, binary: 0 },
  phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
});

test('a reduce-only order three times the position is clipped to the position: it closes it and never opens the other side', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 1);

  const out = h.sell('ETH-USD', 3, { reduceOnly: true });

  assert.deepEqual(ofType(out, 'order.rejected'), []);
  assert.deepEqual(
    ofType(out, 'order.filled').map((e) => [e.qty, e.price]),
    [[1, 2_000]],
  );
  assert.deepEqual(
    ofType(out, 'order.cancelled').map((e) => e.reason),
    ['POSITION_CLOSED'],
  );
  assert.deepEqual(h.state().positions, {});
  assert.deepEqual(h.state().orders, {});
});

test('a resting reduce-only order larger than the position fills only the position when it triggers', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_000);
  h.sell('ETH-USD', 2);
  const placed = h.place({ symbol: 'ETH-USD', side: 'buy', type: 'stop', stopPrice: 2_100, qty: 10, reduceOnly: true });

  const hit = h.tick('ETH-USD', 2_100, 2_100);

  assert.equal(ofType(placed, 'order.accepted').length, 1);
  assert.deepEqual(
    ofType(hit, 'order.filled').map((e) => e.qty),
    [2],
  );
  assert.deepEqual(h.state().positions, {});
});

test('a reduce-only order with no position to reduce is still refused REDUCE_ONLY_WOULD_INCREASE', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_000);

  const out = h.sell('ETH-USD', 1, { reduceOnly: true });

  assert.deepEqual(
    ofType(out, 'order.rejected').map((e) => e.reason),
    ['REDUCE_ONLY_WOULD_INCREASE'],
  );
});
