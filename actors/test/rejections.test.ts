import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import type { OutputEvent } from '../../engine/index.js';
import { Harness, HOUR, ofType, T0 } from './harness.js';

/** A linear 100K tier without fees whose first phase runs `rules`. */
function linear(rules: object, extra: Record<string, unknown> = {}) {
  return parseTier({
    id: 'rej',
    version: 1,
    name: 'Rejections',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    ...extra,
    phases: [{ name: 'challenge', startingBalance: 100_000, rules }],
  });
}

function reasons(out: readonly OutputEvent[]): string[] {
  return ofType(out, 'order.rejected').map((e) => e.reason);
}

function filled(out: readonly OutputEvent[]): number {
  return ofType(out, 'order.filled').reduce((sum, e) => sum + e.qty, 0);
}

test('an order on a symbol the engine does not know is refused UNKNOWN_SYMBOL', () => {
  const h = new Harness(linear({}));

  const out = h.buy('DOGE-USD', 1);

  assert.deepEqual(reasons(out), ['UNKNOWN_SYMBOL']);
  assert.deepEqual(h.state().orders, {});
});

test('a binary share on a linear-only tier is refused KIND_NOT_ALLOWED', () => {
  const h = new Harness(linear({}));
  h.tick('PM:FED-DEC-CUT:YES', 0.4, 0.41);

  const out = h.buy('PM:FED-DEC-CUT:YES', 10);

  assert.deepEqual(reasons(out), ['KIND_NOT_ALLOWED']);
});

test('an order before the first quote of its symbol is refused NO_MARKET_DATA', () => {
  const h = new Harness(linear({}));
  h.tick('ETH-USD', 2_000, 2_001);

  const out = h.buy('BTC-USD', 0.1);

  assert.deepEqual(reasons(out), ['NO_MARKET_DATA']);
});

test('an order whose margin at the tier leverage exceeds free equity is refused INSUFFICIENT_MARGIN', () => {
  const h = new Harness(linear({})); // 100K at 10x: at most 1M notional
  h.tick('BTC-USD', 40_000, 40_000);

  const tooBig = h.buy('BTC-USD', 25.001);
  const fits = h.buy('BTC-USD', 25);
  const more = h.buy('BTC-USD', 0.001);

  assert.deepEqual(reasons(tooBig), ['INSUFFICIENT_MARGIN']);
  assert.equal(filled(fits), 25);
  assert.deepEqual(reasons(more), ['INSUFFICIENT_MARGIN']);
});

test('an entry without a stop-loss is refused MISSING_STOP_LOSS when the tier requires one', () => {
  const h = new Harness(linear({ riskPerTrade: { maxPct: 2, requireStopLoss: true } }));
  h.tick('SOL-USD', 100, 100);

  const bare = h.buy('SOL-USD', 10);
  const protectedEntry = h.buy('SOL-USD', 10, { stopLoss: 90 });
  const exit = h.sell('SOL-USD', 10); // reducing needs no stop-loss

  assert.deepEqual(reasons(bare), ['MISSING_STOP_LOSS']);
  assert.equal(filled(protectedEntry), 10);
  assert.equal(filled(exit), 10);
});

test('an entry risking more than the tier share of balance to its stop is refused RISK_PER_TRADE_EXCEEDED', () => {
  const h = new Harness(linear({ riskPerTrade: { maxPct: 1 } })); // 1% of 100K = 1,000
  h.tick('SOL-USD', 100, 100);

  const over = h.buy('SOL-USD', 101, { stopLoss: 90 }); // risk 1,010
  const atLimit = h.buy('SOL-USD', 100, { stopLoss: 90 }); // risk 1,000

  assert.deepEqual(reasons(over), ['RISK_PER_TRADE_EXCEEDED']);
  assert.equal(filled(atLimit), 100);
});

test('an order that would take the position past the per-symbol cap is refused MAX_QTY_EXCEEDED', () => {
  const h = new Harness(linear({ positionLimits: { maxQty: { 'ETH-USD': 5, '*': 100 } } }));
  h.tick('ETH-USD', 2_000, 2_000);

  const first = h.buy('ETH-USD', 3);
  const over = h.buy('ETH-USD', 3);
  const reduce = h.sell('ETH-USD', 1);

  assert.equal(filled(first), 3);
  assert.deepEqual(reasons(over), ['MAX_QTY_EXCEEDED']);
  assert.equal(filled(reduce), 1);
});

test('raising the quantity of a resting order past the per-symbol cap is refused like a new order', () => {
  const h = new Harness(linear({ positionLimits: { maxQty: { 'ETH-USD': 5 } } }));
  h.tick('ETH-USD', 2_000, 2_001);
  const id = ofType(h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 2, limitPrice: 1_990 }), 'order.accepted')[0]!.order.id;

  const out = h.command({ kind: 'modify', orderId: id, qty: 8 });
  const later = h.tick('ETH-USD', 1_989, 1_990);

  assert.deepEqual(
    ofType(out, 'command.ignored').map((e) => e.reason),
    ['MAX_QTY_EXCEEDED'],
  );
  assert.equal(filled(later), 2);
});

test('an order that would take gross notional past the cap is refused MAX_NOTIONAL_EXCEEDED', () => {
  const h = new Harness(linear({ positionLimits: { maxNotional: 50_000 } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.tick('SOL-USD', 100, 100);
  h.buy('ETH-USD', 20); // 40,000

  const over = h.sell('SOL-USD', 101); // +10,100
  const fits = h.sell('SOL-USD', 100); // +10,000

  assert.deepEqual(reasons(over), ['MAX_NOTIONAL_EXCEEDED']);
  assert.equal(filled(fits), 100);
});

test('an entry whose loss to its stop would cross the daily floor is refused RULE_WOULD_BE_BREACHED', () => {
  const h = new Harness(linear({ dailyLoss: { limit: { amount: 1_000 } } }));
  h.tick('SOL-USD', 100, 100);

  const over = h.buy('SOL-USD', 100, { stopLoss: 89.9 }); // 1,010 to the stop
  const fits = h.buy('SOL-USD', 100, { stopLoss: 90 }); // 1,000 to the stop

  assert.deepEqual(reasons(over), ['RULE_WOULD_BE_BREACHED']);
  assert.equal(filled(fits), 100);
});

test('an order below the instrument minimum quantity is refused QTY_BELOW_MINIMUM', () => {
  const h = new Harness(linear({}));
  h.tick('ETH-USD', 2_000, 2_000);

  const out = h.buy('ETH-USD', 0.0005); // minimum 0.001

  assert.deepEqual(reasons(out), ['QTY_BELOW_MINIMUM']);
});

test('a limit order without a limit price is refused INVALID_ORDER', () => {
  const h = new Harness(linear({}));
  h.tick('ETH-USD', 2_000, 2_000);

  const out = h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1 });

  assert.deepEqual(reasons(out), ['INVALID_ORDER']);
});

test('an order on a binary instrument past its closing time is refused MARKET_CLOSED', () => {
  const closing = {
    symbol: 'PM:ELECTION:YES',
    kind: 'binary',
    venue: 'test',
    minQty: 1,
    market: 'PM:ELECTION',
    outcome: 'YES',
    closesAt: T0 + HOUR,
  } as const;
  const h = new Harness(
    parseTier({
      id: 'rej-closing',
      version: 1,
      name: 'Closing',
      timezone: 'UTC',
      kinds: ['binary'],
      fees: { linear: 0, binary: 0 },
      phases: [{ name: 'challenge', startingBalance: 10_000, rules: {} }],
    }),
    { instruments: [closing] },
  );
  h.tick(closing.symbol, 0.5, 0.5);

  const open = h.buy(closing.symbol, 10);
  h.clock(T0 + HOUR);
  const closed = h.buy(closing.symbol, 10);

  assert.equal(filled(open), 10);
  assert.deepEqual(reasons(closed), ['MARKET_CLOSED']);
});

const binaryTier = parseTier({
  id: 'rej-binary',
  version: 1,
  name: 'Binary rejections',
  timezone: 'UTC',
  kinds: ['binary'],
  fees: { linear: 0, binary: 0 },
  phases: [{ name: 'challenge', startingBalance: 10_000, rules: {} }],
});

test('selling more binary shares than are held is refused NO_SHORT_BINARY', () => {
  const h = new Harness(binaryTier);
  h.tick('PM:FED-DEC-CUT:YES', 0.4, 0.41);
  h.buy('PM:FED-DEC-CUT:YES', 100);

  const over = h.sell('PM:FED-DEC-CUT:YES', 101);
  const all = h.sell('PM:FED-DEC-CUT:YES', 100);

  assert.deepEqual(reasons(over), ['NO_SHORT_BINARY']);
  assert.equal(filled(all), 100);
});

test('an order on a resolved market is refused MARKET_RESOLVED', () => {
  const h = new Harness(binaryTier);
  h.tick('PM:FED-DEC-CUT:NO', 0.6, 0.61);
  h.resolve('PM:FED-DEC-CUT', 'YES');

  const out = h.buy('PM:FED-DEC-CUT:NO', 10);

  assert.deepEqual(reasons(out), ['MARKET_RESOLVED']);
});

test('an order inside a blackout window on its symbol is refused BLACKOUT_WINDOW until the window ends', () => {
  const h = new Harness(linear({ blackouts: [{ from: T0, to: T0 + HOUR, symbols: ['BTC-USD'], label: 'CPI' }] }));
  h.tick('BTC-USD', 40_000, 40_000);
  h.tick('ETH-USD', 2_000, 2_000);

  const inside = h.buy('BTC-USD', 0.1);
  const otherSymbol = h.buy('ETH-USD', 1);
  h.clock(T0 + HOUR);
  const after = h.buy('BTC-USD', 0.1);

  assert.deepEqual(reasons(inside), ['BLACKOUT_WINDOW']);
  assert.equal(filled(otherSymbol), 1);
  assert.equal(filled(after), 0.1);
});

test('an order inside the weekly weekend window is refused WEEKEND_WINDOW', () => {
  const h = new Harness(
    linear({
      weekendFlat: { from: { day: 5, time: '21:00' }, to: { day: 0, time: '21:00' } },
    }),
  );
  h.clock(Date.UTC(2024, 0, 6, 12)); // Saturday noon UTC
  h.tick('ETH-USD', 2_000, 2_000);

  const inside = h.buy('ETH-USD', 1);
  h.clock(Date.UTC(2024, 0, 7, 21)); // Sunday 21:00: the window has closed
  const after = h.buy('ETH-USD', 1);

  assert.deepEqual(reasons(inside), ['WEEKEND_WINDOW']);
  assert.equal(filled(after), 1);
});

test('an order while a soft breach locks trading is refused TRADING_LOCKED', () => {
  const h = new Harness(linear({ dailyLoss: { limit: { amount: 1_000 }, severity: 'soft' } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 1_899, 1_899); // equity 98,990 < 99,000

  const out = h.buy('ETH-USD', 1);

  assert.deepEqual(reasons(out), ['TRADING_LOCKED']);
});
