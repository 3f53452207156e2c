import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AssessmentActor, CLIENT_ORDER_ID_WINDOW, MAX_VIOLATIONS, MAX_WORKING_ORDERS, parseTier, type AssessmentState } from '../index.js';
import { DAY, Harness, ofType, RESET1 } from './harness.js';

/** No rules and no fees: only what a trader can add to the state is under test. */
const tier = parseTier({
  id: 'bounds',
  version: 1,
  name: 'Bounds',
  timezone: 'UTC',
  resetTime: '00:00',
  kinds: ['linear'],
  leverage: 10,
  fees: { linear: 0, binary: 0 },
  phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
});

test('a refused order leaves no client order id in the state, so the id can be used again', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_000);

  const refused = h.place({ clientOrderId: 'retry-me', symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1 }); // no limit price
  const again = h.place({ clientOrderId: 'retry-me', symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_900 });

  assert.deepEqual(
    ofType(refused, 'order.rejected').map((e) => e.reason),
    ['INVALID_ORDER'],
  );
  assert.equal(ofType(again, 'order.accepted').length, 1);
  assert.deepEqual(Object.keys(h.state().clientOrderIds), ['retry-me']);
});

test('the actor remembers a bounded window of client order ids, and the recent ones are still duplicates', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_000);
  const n = 3 * CLIENT_ORDER_ID_WINDOW;
  for (let k = 0; k < n; k++) {
    const id = ofType(
      h.place({ clientOrderId: `id-${k}`, symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_000 }),
      'order.accepted',
    )[0]!.order.id;
    h.command({ kind: 'cancel', orderId: id });
  }

  const remembered = Object.keys(h.state().clientOrderIds).length;
  const recent = h.place({
    clientOrderId: `id-${n - CLIENT_ORDER_ID_WINDOW}`,
    symbol: 'ETH-USD',
    side: 'buy',
    type: 'limit',
    qty: 1,
    limitPrice: 1_000,
  });

  assert.ok(remembered >= CLIENT_ORDER_ID_WINDOW && remembered <= 2 * CLIENT_ORDER_ID_WINDOW, `${remembered} ids remembered`);
  assert.deepEqual(
    ofType(recent, 'command.ignored').map((e) => e.reason),
    ['DUPLICATE_CLIENT_ORDER_ID'],
  );
});

test('an order beyond the cap on working orders is refused TOO_MANY_ORDERS, but closing the position still works', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 1);
  for (let k = 0; k < MAX_WORKING_ORDERS; k++) h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 0.01, limitPrice: 1_000 });

  const over = h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 0.01, limitPrice: 1_000 });
  const close = h.command({ kind: 'close-position', symbol: 'ETH-USD', clientOrderId: 'close' });

  assert.deepEqual(
    ofType(over, 'order.rejected').map((e) => e.reason),
    ['TOO_MANY_ORDERS'],
  );
  assert.deepEqual(
    ofType(close, 'order.filled').map((e) => e.qty),
    [1],
  );
  assert.equal(Object.keys(h.state().orders).length, MAX_WORKING_ORDERS);
});

test('the state keeps only the most recent violations, however many days an account breaches softly', () => {
  const soft = parseTier({
    ...tier,
    id: 'bounds-soft',
    phases: [{ name: 'challenge', startingBalance: 100_000, rules: { dailyLoss: { limit: { amount: 100 }, severity: 'soft' } } }],
  });
  const h = new Harness(soft);
  const days = MAX_VIOLATIONS + 5;
  for (let d = 0; d < days; d++) {
    h.tick('ETH-USD', 2_000, 2_000);
    h.buy('ETH-USD', 1);
    h.tick('ETH-USD', 1_800, 1_800);
    h.clock(RESET1 + d * DAY);
  }

  const violations = h.state().violations;
  assert.equal(h.all('rules.violation-detected').length, days);
  assert.equal(violations.length, MAX_VIOLATIONS);
  assert.equal(violations.at(-1)!.at, h.all('rules.violation-detected').at(-1)!.violation.at);
});

test('a snapshot taken before the window (refused ids kept, no window mark) restores and still refuses its ids', () => {
  const h = new Harness(tier);
  h.tick('ETH-USD', 2_000, 2_000);
  h.place({ clientOrderId: 'kept', symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_900 });
  const old = structuredClone(h.state()) as AssessmentState & { clientOrderIdsFrom?: number };
  old.clientOrderIds['old-refused'] = 'rejected:INVALID_ORDER';
  delete old.clientOrderIdsFrom;
  const events: string[] = [];
  const actor = AssessmentActor.restore(old, tier);

  actor.onCommand(
    { kind: 'place', clientOrderId: 'old-refused', symbol: 'ETH-USD', side: 'buy', type: 'market', qty: 1 },
    { market: h.kernel.book, now: h.now, emit: (e) => events.push(e.type) },
  );

  assert.deepEqual(events, ['command.ignored']);
});
