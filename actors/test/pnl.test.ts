import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { cents, Harness, ofType } from './harness.js';

/** No rules and no fees, so every P&L figure is exact. */
const tier = parseTier({
  id: 'pnl',
  version: 1,
  name: 'P&L',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 10,
  fees: { linear: 0, binary: 0 },
  phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
});

test('adding to a position moves its average entry to the size-weighted mean of the fills', () => {
  const h = new Harness(tier);
  h.tick('SOL-USD', 99, 100);
  h.buy('SOL-USD', 1);
  h.tick('SOL-USD', 103, 104);

  const out = h.buy('SOL-USD', 3);

  assert.deepEqual(
    ofType(out, 'position.changed').map((e) => [e.qty, e.avgEntry]),
    [[4, 103]],
  );
  assert.equal(h.state().balance, 100_000);
});

test('a partial close realizes P&L on the closed part only and keeps the average entry', () => {
  const h = new Harness(tier);
  h.tick('SOL-USD', 99, 100);
  h.buy('SOL-USD', 4);
  h.tick('SOL-USD', 110, 111);

  const out = h.sell('SOL-USD', 1);

  assert.deepEqual(
    ofType(out, 'position.changed').map((e) => [e.qty, e.avgEntry]),
    [[3, 100]],
  );
  const s = h.state();
  assert.equal(s.balance, 100_010);
  assert.equal(s.positions['SOL-USD']?.realizedPnl, 10);
  assert.equal(s.dayPnl[0], 10);
});

test('a short partial close realizes the entry minus the exit', () => {
  const h = new Harness(tier);
  h.tick('SOL-USD', 100, 101);
  h.sell('SOL-USD', 4);
  h.tick('SOL-USD', 94, 95);

  h.buy('SOL-USD', 2);

  assert.equal(h.state().balance, 100_000 + (100 - 95) * 2);
  assert.equal(h.state().positions['SOL-USD']?.qty, -2);
});

test('a sell larger than a long closes it and opens a short with the excess at the fill price', () => {
  const h = new Harness(tier);
  h.tick('SOL-USD', 99, 100);
  h.buy('SOL-USD', 2);
  h.tick('SOL-USD', 110, 111);

  const out = h.sell('SOL-USD', 5);

  assert.deepEqual(
    ofType(out, 'position.closed').map((e) => [e.realizedPnl, e.exitPrice]),
    [[20, 110]],
  );
  assert.deepEqual(
    ofType(out, 'position.opened').map((e) => [e.qty, e.avgEntry]),
    [[-3, 110]],
  );
  const s = h.state();
  assert.equal(s.balance, 100_020);
  assert.equal(s.positions['SOL-USD']?.realizedPnl, 0);
  assert.equal(s.tradeCount, 2);
});

test('the closed P&L of a position sums every partial close over its life', () => {
  const h = new Harness(tier);
  h.tick('SOL-USD', 99, 100);
  h.buy('SOL-USD', 2);
  h.tick('SOL-USD', 110, 111);
  h.sell('SOL-USD', 1);
  h.tick('SOL-USD', 90, 91);

  const out = h.sell('SOL-USD', 1);

  assert.deepEqual(
    ofType(out, 'position.closed').map((e) => e.realizedPnl),
    [10 - 10],
  );
  assert.equal(h.state().balance, 100_000);
});

test('equity is balance plus unrealized P&L with longs marked at the bid and shorts at the ask', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_002);
  h.tick('SOL-USD', 100, 100.5);
  h.buy('ETH-USD', 3);
  h.sell('SOL-USD', 40);

  h.tick('ETH-USD', 2_050, 2_060);
  h.tick('SOL-USD', 98, 99);

  const fig = h.figures();
  const longUnrealized = (2_050 - 2_002) * 3;
  const shortUnrealized = (100 - 99) * 40;
  assert.equal(fig.balance, 100_000);
  assert.equal(fig.unrealizedPnl, longUnrealized + shortUnrealized);
  assert.equal(fig.equity, 100_000 + longUnrealized + shortUnrealized);
  assert.equal(fig.grossNotional, 3 * 2_050 + 40 * 99);
});

test('fees are booked against the balance and the day P&L on both legs of a round trip', () => {
  const h = new Harness(
    parseTier({
      id: 'pnl-fees',
      version: 1,
      name: 'P&L with fees',
      timezone: 'UTC',
      kinds: ['linear'],
      leverage: 10,
      fees: { linear: 0.001, binary: 0 },
      phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
    }),
  );
  h.tick('SOL-USD', 99, 100);
  h.buy('SOL-USD', 10); // fee 1.00
  h.tick('SOL-USD', 110, 111);

  const out = h.sell('SOL-USD', 10); // fee 1.10

  assert.deepEqual(
    ofType(out, 'position.closed').map((e) => e.realizedPnl),
    [100],
  );
  assert.equal(cents(h.state().balance), 100_000 + 100 - 1 - 1.1);
  assert.equal(cents(h.state().dayPnl[0]!), 100 - 1 - 1.1);
});
