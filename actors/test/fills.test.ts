import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { cents, Harness, ofType, RESET1, types } from './harness.js';

/** No rules, 0.1% linear fee, 10x leverage: only the order book is under test. */
const tier = parseTier({
  id: 'fills',
  version: 1,
  name: 'Fills',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 10,
  fees: { linear: 0.001, binary: 0 },
  phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
});

test('a market buy fills at the ask and pays the tier fee on the fill notional', () => {
  const h = new Harness(tier);
  h.tick('BTC-USD', 40_000, 40_010);

  const out = h.buy('BTC-USD', 1);

  const [f] = ofType(out, 'order.filled');
  assert.equal(f?.price, 40_010);
  assert.equal(f?.side, 'buy');
  assert.equal(f?.status, 'filled');
  assert.equal(cents(f!.fee), 40.01);
  assert.equal(cents(h.state().balance), 100_000 - 40.01);
  assert.deepEqual(
    ofType(out, 'position.opened').map((e) => [e.qty, e.avgEntry]),
    [[1, 40_010]],
  );
});

test('a market sell fills at the bid and opens a short', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);

  const out = h.sell('ETH-USD', 10);

  const [f] = ofType(out, 'order.filled');
  assert.equal(f?.price, 2_000);
  assert.equal(cents(f!.fee), 20);
  assert.equal(h.state().positions['ETH-USD']?.qty, -10);
  assert.equal(h.state().positions['ETH-USD']?.avgEntry, 2_000);
});

test('a limit buy rests while the ask is above its limit and fills at the ask once it is at or below', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  const placed = h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_990 });
  assert.deepEqual(ofType(placed, 'order.filled'), []);

  const above = h.tick('ETH-USD', 1_989, 1_990.5);
  const at = h.tick('ETH-USD', 1_988, 1_990);

  assert.deepEqual(ofType(above, 'order.filled'), []);
  const [f] = ofType(at, 'order.filled');
  assert.equal(f?.price, 1_990);
  assert.equal(f?.status, 'filled');
  assert.equal(h.state().positions['ETH-USD']?.qty, 1);
});

test('a limit buy placed below the ask fills at a better ask, never at the limit', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_990 });

  const gap = h.tick('ETH-USD', 1_970, 1_975);

  assert.equal(ofType(gap, 'order.filled')[0]?.price, 1_975);
});

test('a stop sell triggers when the bid reaches the stop and fills at the bid', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  h.buy('ETH-USD', 2);
  h.place({ symbol: 'ETH-USD', side: 'sell', type: 'stop', qty: 2, stopPrice: 1_950 });

  const above = h.tick('ETH-USD', 1_950.5, 1_952);
  const through = h.tick('ETH-USD', 1_948, 1_950);

  assert.deepEqual(types(above), []);
  assert.deepEqual(
    ofType(through, 'order.triggered').map((e) => e.price),
    [1_948],
  );
  const [f] = ofType(through, 'order.filled');
  assert.equal(f?.price, 1_948);
  assert.equal(f?.qty, 2);
  assert.equal(ofType(through, 'position.closed').length, 1);
  assert.deepEqual(h.state().positions, {});
});

test('a stop buy triggers at an ask exactly at its stop', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  h.place({ symbol: 'ETH-USD', side: 'buy', type: 'stop', qty: 1, stopPrice: 2_010 });

  const below = h.tick('ETH-USD', 2_008, 2_009.99);
  const at = h.tick('ETH-USD', 2_009, 2_010);

  assert.deepEqual(types(below), []);
  assert.deepEqual(
    ofType(at, 'order.filled').map((e) => [e.side, e.price]),
    [['buy', 2_010]],
  );
});

test('a fill is capped by the displayed size and completes on later ticks', () => {
  const h = new Harness(tier);
  h.tick('SOL-USD', 99, 100, { askSize: 2 });

  const first = h.buy('SOL-USD', 5);
  const second = h.tick('SOL-USD', 100, 101, { askSize: 2 });
  const third = h.tick('SOL-USD', 101, 102, { askSize: 50 });

  const fills = [...first, ...second, ...third].filter((e) => e.type === 'order.filled');
  assert.deepEqual(
    ofType(fills, 'order.filled').map((e) => [e.qty, e.price, e.remaining, e.status]),
    [
      [2, 100, 3, 'partially-filled'],
      [2, 101, 1, 'partially-filled'],
      [1, 102, 0, 'filled'],
    ],
  );
  const pos = h.state().positions['SOL-USD']!;
  assert.equal(pos.qty, 5);
  assert.equal(pos.avgEntry, (2 * 100 + 2 * 101 + 102) / 5);
  assert.deepEqual(h.state().orders, {});
});

test('a reduce-only order that would open or increase a position is refused', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  const flat = h.buy('ETH-USD', 1, { reduceOnly: true });
  h.buy('ETH-USD', 1);

  const adding = h.buy('ETH-USD', 1, { reduceOnly: true });
  const reducing = h.sell('ETH-USD', 1, { reduceOnly: true });

  assert.deepEqual(
    ofType(flat, 'order.rejected').map((e) => e.reason),
    ['REDUCE_ONLY_WOULD_INCREASE'],
  );
  assert.deepEqual(
    ofType(adding, 'order.rejected').map((e) => e.reason),
    ['REDUCE_ONLY_WOULD_INCREASE'],
  );
  assert.equal(ofType(reducing, 'order.filled').length, 1);
  assert.deepEqual(h.state().positions, {});
});

test('a second submission with the same client order id is ignored and places no second order', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  h.place({ clientOrderId: 'dup', symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_900 });

  const again = h.place({ clientOrderId: 'dup', symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_900 });

  assert.deepEqual(types(again), ['command.ignored']);
  assert.equal(ofType(again, 'command.ignored')[0]?.reason, 'DUPLICATE_CLIENT_ORDER_ID');
  assert.equal(Object.keys(h.state().orders).length, 1);
});

test('a cancelled order leaves the book and no longer fills', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  const id = ofType(h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_990 }), 'order.accepted')[0]!.order.id;

  const cancelled = h.command({ kind: 'cancel', orderId: id });
  const later = h.tick('ETH-USD', 1_980, 1_985);
  const again = h.command({ kind: 'cancel', orderId: id });

  assert.deepEqual(
    ofType(cancelled, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[id, 'REQUESTED']],
  );
  assert.deepEqual(types(later), []);
  assert.equal(ofType(again, 'command.ignored')[0]?.reason, 'UNKNOWN_ORDER');
});

test('modifying a resting limit to a marketable price fills it at once at the ask', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  const id = ofType(h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_990 }), 'order.accepted')[0]!.order.id;

  const out = h.command({ kind: 'modify', orderId: id, qty: 3, limitPrice: 2_005 });

  assert.deepEqual(
    ofType(out, 'order.modified').map((e) => [e.qty, e.limitPrice]),
    [[3, 2_005]],
  );
  assert.deepEqual(
    ofType(out, 'order.filled').map((e) => [e.qty, e.price]),
    [[3, 2_002]],
  );
});

test('modifying a limit order with a stop price is ignored as invalid', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  const id = ofType(h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_990 }), 'order.accepted')[0]!.order.id;

  const out = h.command({ kind: 'modify', orderId: id, stopPrice: 1_950 });

  assert.equal(ofType(out, 'command.ignored')[0]?.reason, 'INVALID_ORDER');
  assert.equal(h.state().orders[id]?.limitPrice, 1_990);
});

test('a day order expires at the trading-day reset while a good-till-cancelled order stays', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  const day = ofType(
    h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_900, tif: 'day' }),
    'order.accepted',
  )[0]!.order.id;
  const gtc = ofType(h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_900 }), 'order.accepted')[0]!.order.id;

  const before = h.clock(RESET1 - 1);
  const atReset = h.clock(RESET1);

  assert.deepEqual(ofType(before, 'order.expired'), []);
  assert.deepEqual(
    ofType(atReset, 'order.expired').map((e) => e.orderId),
    [day],
  );
  assert.deepEqual(Object.keys(h.state().orders), [gtc]);
});
