import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { Harness, ofType } from './harness.js';

/** No rules and no fees: only bracket mechanics are under test. */
const tier = parseTier({
  id: 'bracket',
  version: 1,
  name: 'Bracket',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 10,
  fees: { linear: 0, binary: 0 },
  phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
});

test('an entry with stop-loss and take-profit creates reduce-only children when it fills', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_001);

  const out = h.buy('ETH-USD', 2, { clientOrderId: 'entry', stopLoss: 1_900, takeProfit: 2_100 });

  const accepted = ofType(out, 'order.accepted').map((e) => e.order);
  assert.deepEqual(
    accepted.map((o) => [o.clientOrderId, o.role, o.side, o.type, o.qty, o.stopPrice, o.limitPrice, o.reduceOnly]),
    [
      ['entry', 'entry', 'buy', 'market', 2, undefined, undefined, false],
      ['entry:sl', 'stop-loss', 'sell', 'stop', 2, 1_900, undefined, true],
      ['entry:tp', 'take-profit', 'sell', 'limit', 2, undefined, 2_100, true],
    ],
  );
  assert.equal(accepted[1]?.parentId, accepted[0]?.id);
  assert.equal(accepted[2]?.parentId, accepted[0]?.id);
  assert.equal(Object.keys(h.state().orders).length, 2);
});

test('a resting bracket entry creates no children until it fills', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_001);
  const placed = h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_950, stopLoss: 1_900, takeProfit: 2_100 });
  assert.equal(ofType(placed, 'order.accepted').length, 1);

  const filled = h.tick('ETH-USD', 1_949, 1_950);

  assert.deepEqual(
    ofType(filled, 'order.accepted').map((e) => e.order.role),
    ['stop-loss', 'take-profit'],
  );
});

test('the children of a partially filled entry are sized to what has filled so far', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_001, { askSize: 1 });

  const first = h.buy('ETH-USD', 3, { stopLoss: 1_900, takeProfit: 2_100 });
  const second = h.tick('ETH-USD', 2_000, 2_001, { askSize: 5 });

  assert.deepEqual(
    ofType(first, 'order.accepted')
      .slice(1)
      .map((e) => e.order.qty),
    [1, 1],
  );
  assert.deepEqual(
    ofType(second, 'order.modified').map((e) => e.qty),
    [3, 3],
  );
});

test('the stop-loss fills before the target and the target is cancelled as its OCO sibling', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_001);
  const accepted = ofType(h.buy('ETH-USD', 2, { stopLoss: 1_900, takeProfit: 2_100 }), 'order.accepted').map((e) => e.order);
  const [, sl, tp] = accepted;

  const drop = h.tick('ETH-USD', 1_899, 1_900);

  assert.deepEqual(
    ofType(drop, 'order.triggered').map((e) => [e.orderId, e.price]),
    [[sl!.id, 1_899]],
  );
  assert.deepEqual(
    ofType(drop, 'order.filled').map((e) => [e.orderId, e.qty, e.price]),
    [[sl!.id, 2, 1_899]],
  );
  assert.deepEqual(
    ofType(drop, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[tp!.id, 'OCO_SIBLING_FILLED']],
  );
  assert.deepEqual(
    ofType(drop, 'position.closed').map((e) => [e.realizedPnl, e.exitPrice]),
    [[(1_899 - 2_001) * 2, 1_899]],
  );
  assert.deepEqual(h.state().orders, {});
  assert.deepEqual(h.state().positions, {});
});

test('the target filling cancels the stop-loss', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_001);
  const [, sl, tp] = ofType(h.buy('ETH-USD', 2, { stopLoss: 1_900, takeProfit: 2_100 }), 'order.accepted').map((e) => e.order);

  const rally = h.tick('ETH-USD', 2_105, 2_106);

  assert.deepEqual(
    ofType(rally, 'order.filled').map((e) => [e.orderId, e.price]),
    [[tp!.id, 2_105]],
  );
  assert.deepEqual(
    ofType(rally, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[sl!.id, 'OCO_SIBLING_FILLED']],
  );
  assert.equal(h.state().balance, 100_000 + (2_105 - 2_001) * 2);
});

test('closing the position by hand cancels the bracket children', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_001);
  const [, sl, tp] = ofType(h.buy('ETH-USD', 2, { stopLoss: 1_900, takeProfit: 2_100 }), 'order.accepted').map((e) => e.order);

  const out = h.command({ kind: 'close-position', symbol: 'ETH-USD', clientOrderId: 'close' });

  assert.deepEqual(
    ofType(out, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [
      [sl!.id, 'POSITION_CLOSED'],
      [tp!.id, 'POSITION_CLOSED'],
    ],
  );
  assert.deepEqual(h.state().orders, {});
});

test('a stop-loss on the wrong side of the entry is refused', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_001);

  const out = h.buy('ETH-USD', 1, { stopLoss: 2_050 });

  assert.equal(ofType(out, 'order.rejected')[0]?.reason, 'INVALID_STOP_LOSS');
});
