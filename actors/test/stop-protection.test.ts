import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier, type Order } from '../index.js';
import type { OutputEvent } from '../../engine/index.js';
import { Harness, ofType } from './harness.js';

/** 100K without fees; at most 2% (2,000) at risk per position, to the stop-loss. */
function tierWith(riskPerTrade: object) {
  return parseTier({
    id: 'protection',
    version: 1,
    name: 'Stop protection',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    phases: [{ name: 'challenge', startingBalance: 100_000, rules: { riskPerTrade } }],
  });
}
const mandatory = tierWith({ maxPct: 2, requireStopLoss: true });

/** ETH at 2,000: long 10 with a stop-loss at 1,850 (risk 1,500) and a take-profit at 2,200. */
function entered(tier = mandatory): { h: Harness; sl: Order; tp: Order } {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_000);
  const [, sl, tp] = ofType(h.buy('ETH-USD', 10, { stopLoss: 1_850, takeProfit: 2_200 }), 'order.accepted').map((e) => e.order);
  return { h, sl: sl!, tp: tp! };
}

function ignored(out: readonly OutputEvent[]): string[] {
  return ofType(out, 'command.ignored').map((e) => e.reason);
}

function rejected(out: readonly OutputEvent[]): string[] {
  return ofType(out, 'order.rejected').map((e) => e.reason);
}

test('a stop-loss moved past the risk limit is refused with RISK_PER_TRADE_EXCEEDED and stays where it was', () => {
  const { h, sl } = entered();

  const out = h.command({ kind: 'modify', orderId: sl.id, stopPrice: 1_700 }); // risk 3,000

  assert.deepEqual(ignored(out), ['RISK_PER_TRADE_EXCEEDED']);
  assert.deepEqual(ofType(out, 'order.modified'), []);
  assert.equal(h.state().orders[sl.id]?.stopPrice, 1_850);
});

test('a stop-loss moved within the limit, or tightened, is accepted', () => {
  const { h, sl } = entered();

  const wider = h.command({ kind: 'modify', orderId: sl.id, stopPrice: 1_800 }); // risk 2,000: at the limit
  const tighter = h.command({ kind: 'modify', orderId: sl.id, stopPrice: 1_950 });

  assert.deepEqual(
    ofType(wider, 'order.modified').map((e) => e.stopPrice),
    [1_800],
  );
  assert.deepEqual(
    ofType(tighter, 'order.modified').map((e) => e.stopPrice),
    [1_950],
  );
});

test('cancelling the mandatory stop-loss of an open position is refused MISSING_STOP_LOSS', () => {
  const { h, sl } = entered();

  const out = h.command({ kind: 'cancel', orderId: sl.id });

  assert.deepEqual(ignored(out), ['MISSING_STOP_LOSS']);
  assert.equal(h.state().orders[sl.id]?.status, 'working');
});

test('shrinking the mandatory stop-loss below the position is refused MISSING_STOP_LOSS', () => {
  const { h, sl } = entered();

  const out = h.command({ kind: 'modify', orderId: sl.id, qty: 5 });

  assert.deepEqual(ignored(out), ['MISSING_STOP_LOSS']);
  assert.equal(h.state().orders[sl.id]?.qty, 10);
});

test('a mandatory stop-loss may be cancelled once another stop covers the position within the limit', () => {
  const { h, sl } = entered();
  const spare = h.place({ symbol: 'ETH-USD', side: 'sell', type: 'stop', stopPrice: 1_900, qty: 10, reduceOnly: true });

  const out = h.command({ kind: 'cancel', orderId: sl.id });

  assert.equal(ofType(spare, 'order.accepted').length, 1);
  assert.deepEqual(
    ofType(out, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[sl.id, 'REQUESTED']],
  );
});

test('adding to a position is judged on the whole position: an add whose own stop fits but takes the position past the limit is refused', () => {
  const { h } = entered();

  const add = h.buy('ETH-USD', 10, { stopLoss: 1_900 }); // 1,500 held + 1,000 added
  const small = h.buy('ETH-USD', 5, { stopLoss: 1_900 }); // 1,500 + 500

  assert.deepEqual(rejected(add), ['RISK_PER_TRADE_EXCEEDED']);
  assert.deepEqual(rejected(small), []);
  assert.equal(h.state().positions['ETH-USD']?.qty, 15);
});

test('working entries count towards the position: a second resting bracket that would take it past the limit is refused', () => {
  const h = new Harness(mandatory);
  h.tick('ETH-USD', 2_000, 2_000);

  const first = h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', limitPrice: 1_950, qty: 10, stopLoss: 1_800 }); // 1,500
  const second = h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', limitPrice: 1_950, qty: 10, stopLoss: 1_800 });

  assert.deepEqual(rejected(first), []);
  assert.deepEqual(rejected(second), ['RISK_PER_TRADE_EXCEEDED']);
});

test('raising the quantity of a partly filled bracket entry is judged with the position it has already opened', () => {
  const h = new Harness(mandatory);
  h.tick('ETH-USD', 2_000, 2_000, { askSize: 5 });
  const entry = ofType(h.buy('ETH-USD', 10, { stopLoss: 1_850 }), 'order.accepted')[0]!.order; // 5 filled (750), 5 working (750)

  const fits = h.command({ kind: 'modify', orderId: entry.id, qty: 13 }); // 750 + 8 × 150 = 1,950 (then 5 more fill)
  const over = h.command({ kind: 'modify', orderId: entry.id, qty: 14 }); // 1,500 + 4 × 150 = 2,100

  assert.deepEqual(
    ofType(fits, 'order.modified')
      .filter((e) => e.orderId === entry.id)
      .map((e) => e.qty),
    [13],
  );
  assert.deepEqual(ignored(over), ['RISK_PER_TRADE_EXCEEDED']);
});

test('modifying the take-profit is not judged against risk per trade', () => {
  const { h, tp } = entered();

  const out = h.command({ kind: 'modify', orderId: tp.id, limitPrice: 2_500 });

  assert.deepEqual(
    ofType(out, 'order.modified').map((e) => e.limitPrice),
    [2_500],
  );
});

test('a stop placed on a position that has none, beyond the risk limit, is refused RISK_PER_TRADE_EXCEEDED', () => {
  const h = new Harness(tierWith({ maxPct: 2 }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);

  const far = h.place({ symbol: 'ETH-USD', side: 'sell', type: 'stop', stopPrice: 1_700, qty: 10, reduceOnly: true });
  const near = h.place({ symbol: 'ETH-USD', side: 'sell', type: 'stop', stopPrice: 1_850, qty: 10, reduceOnly: true });

  assert.deepEqual(rejected(far), ['RISK_PER_TRADE_EXCEEDED']);
  assert.deepEqual(rejected(near), []);
});

test('on a tier that does not require a stop-loss, cancelling one is accepted', () => {
  const { h, sl } = entered(tierWith({ maxPct: 2 }));

  const out = h.command({ kind: 'cancel', orderId: sl.id });

  assert.deepEqual(
    ofType(out, 'order.cancelled').map((e) => e.reason),
    ['REQUESTED'],
  );
});

for (const basis of ['current', 'farthest'] as const) {
  test(`with the ${basis} basis, an add after tightening the stop is judged ${basis === 'current' ? 'on the stop as it stands' : 'on the farthest stop ever set'}`, () => {
    const { h, sl } = entered(tierWith({ maxPct: 2, requireStopLoss: true, basis }));
    h.command({ kind: 'modify', orderId: sl.id, stopPrice: 1_950 }); // risk now 500; farthest ever 1,500

    const add = h.buy('ETH-USD', 6, { stopLoss: 1_900 }); // + 600

    assert.deepEqual(rejected(add), basis === 'current' ? [] : ['RISK_PER_TRADE_EXCEEDED']);
  });
}

test('with the farthest basis, a stop moved back out to its farthest level is accepted and one beyond it within the limit too', () => {
  const { h, sl } = entered(tierWith({ maxPct: 2, requireStopLoss: true, basis: 'farthest' }));
  h.command({ kind: 'modify', orderId: sl.id, stopPrice: 1_950 });

  const back = h.command({ kind: 'modify', orderId: sl.id, stopPrice: 1_850 });
  const beyond = h.command({ kind: 'modify', orderId: sl.id, stopPrice: 1_700 });

  assert.deepEqual(
    ofType(back, 'order.modified').map((e) => e.stopPrice),
    [1_850],
  );
  assert.deepEqual(ignored(beyond), ['RISK_PER_TRADE_EXCEEDED']);
});

test('an order that flips a position opens the new side under the risk rule: without a stop-loss it is refused MISSING_STOP_LOSS', () => {
  const { h } = entered();

  const flip = h.sell('ETH-USD', 15); // long 10 → short 5, no stop
  const far = h.sell('ETH-USD', 15, { stopLoss: 2_500 }); // short 5 risking 2,500
  const fits = h.sell('ETH-USD', 15, { stopLoss: 2_300 }); // short 5 risking 1,500

  assert.deepEqual(rejected(flip), ['MISSING_STOP_LOSS']);
  assert.deepEqual(rejected(far), ['RISK_PER_TRADE_EXCEEDED']);
  assert.deepEqual(rejected(fits), []);
  assert.equal(h.state().positions['ETH-USD']?.qty, -5);
});

test('a stop-loss moved to where its fill would take equity below the daily floor is refused RULE_WOULD_BE_BREACHED', () => {
  const h = new Harness(
    parseTier({
      id: 'protection-floor',
      version: 1,
      name: 'Stop protection floor',
      timezone: 'UTC',
      resetTime: '00:00',
      kinds: ['linear'],
      leverage: 10,
      fees: { linear: 0, binary: 0 },
      phases: [{ name: 'challenge', startingBalance: 100_000, rules: { dailyLoss: { limit: { amount: 1_000 } } } }],
    }),
  );
  h.tick('ETH-USD', 2_000, 2_000);
  const [, sl] = ofType(h.buy('ETH-USD', 10, { stopLoss: 1_950 }), 'order.accepted').map((e) => e.order);

  const over = h.command({ kind: 'modify', orderId: sl!.id, stopPrice: 1_880 }); // a fill there: equity 98,800
  const within = h.command({ kind: 'modify', orderId: sl!.id, stopPrice: 1_910 }); // 99,100

  assert.deepEqual(ignored(over), ['RULE_WOULD_BE_BREACHED']);
  assert.deepEqual(
    ofType(within, 'order.modified').map((e) => e.stopPrice),
    [1_910],
  );
});

test('a stop placed on an unprotected position is not refused for where its fill would take equity: covering the position only lowers the risk', () => {
  const h = new Harness(
    parseTier({
      id: 'protection-floor-cover',
      version: 1,
      name: 'Stop protection floor',
      timezone: 'UTC',
      resetTime: '00:00',
      kinds: ['linear'],
      leverage: 10,
      fees: { linear: 0, binary: 0 },
      phases: [{ name: 'challenge', startingBalance: 100_000, rules: { dailyLoss: { limit: { amount: 1_000 } } } }],
    }),
  );
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);

  const out = h.place({ symbol: 'ETH-USD', side: 'sell', type: 'stop', stopPrice: 1_880, qty: 10, reduceOnly: true });

  assert.deepEqual(rejected(out), []);
});
