import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { DAY, Harness, ofType, RESET1, types } from './harness.js';

/** A UTC 100K tier without fees whose only rule is the given max loss. */
function tierWith(maxLoss: object) {
  return parseTier({
    id: 'max',
    version: 1,
    name: 'Max loss',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    phases: [{ name: 'challenge', startingBalance: 100_000, rules: { maxLoss } }],
  });
}

/** Realize `pnl` with a round trip of 10 ETH from 2,000. */
function realize(h: Harness, pnl: number): void {
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 2_000 + pnl / 10, 2_000 + pnl / 10);
  h.sell('ETH-USD', 10);
}

test('a static max-loss floor is the start minus the limit and never moves with profit', () => {
  const h = new Harness(tierWith({ limit: { amount: 5_000 }, mode: 'static' }));
  assert.equal(h.all('assessment.started')[0]?.maxLossFloor, 95_000);

  realize(h, 3_000);
  h.clock(RESET1);
  const kept = h.state().rules.maxLossFloor;
  h.tick('BTC-USD', 40_000, 40_000);
  h.buy('BTC-USD', 1);
  const above = h.tick('BTC-USD', 32_000, 32_000); // equity 95,000
  const below = h.tick('BTC-USD', 31_999, 31_999); // equity 94,999

  assert.equal(kept, 95_000);
  assert.deepEqual(types(above), []);
  const [v] = ofType(below, 'rules.violation-detected').map((e) => e.violation);
  assert.deepEqual([v?.ruleId, v?.limit, v?.value], ['max-loss', 95_000, 94_999]);
});

test('an end-of-day trailing floor rises only at resets with the day-end balance and locks at the start', () => {
  const h = new Harness(tierWith({ limit: { amount: 5_000 }, mode: 'eod-trailing', lock: 'start' }));
  realize(h, 2_000); // balance 102,000
  h.tick('ETH-USD', 2_300, 2_300);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 2_800, 2_800); // intraday equity 107,000 moves nothing
  h.sell('ETH-USD', 10); // balance 107,000
  realize(h, -2_000); // day-end balance 105,000
  const intraday = h.state().rules.maxLossFloor;

  const day1 = h.clock(RESET1);
  realize(h, -3_000); // day-end balance 102,000: the floor does not come down
  const day2 = h.clock(RESET1 + DAY);
  realize(h, 4_000); // day-end balance 106,000
  const day3 = h.clock(RESET1 + 2 * DAY);
  realize(h, 5_000);
  const day4 = h.clock(RESET1 + 3 * DAY);

  assert.equal(intraday, 95_000);
  const floors = [day1, day2, day3, day4].map((out) => ofType(out, 'assessment.day-started')[0]?.maxLossFloor);
  assert.deepEqual(floors, [100_000, 100_000, 100_000, 100_000]);
  assert.equal(h.state().rules.floorLocked, true);
});

test('an end-of-day trailing floor below its lock follows the best day-end balance', () => {
  const h = new Harness(tierWith({ limit: { amount: 5_000 }, mode: 'eod-trailing', lock: 'start' }));
  realize(h, 2_000);
  const day1 = h.clock(RESET1); // 102,000 − 5,000
  realize(h, -1_000);
  const day2 = h.clock(RESET1 + DAY); // 101,000 is below the best, floor stays
  realize(h, 2_500);
  const day3 = h.clock(RESET1 + 2 * DAY); // 103,500 − 5,000 = 98,500

  const floors = [day1, day2, day3].map((out) => ofType(out, 'assessment.day-started')[0]?.maxLossFloor);
  assert.deepEqual(floors, [97_000, 97_000, 98_500]);
  assert.equal(h.state().rules.floorLocked, false);
});

test('an intraday trailing floor follows peak equity with open P&L, never moves down, and locks at start plus the amount', () => {
  const h = new Harness(tierWith({ limit: { amount: 2_500 }, mode: 'intraday-trailing', lock: { startPlus: 100 } }));
  h.tick('BTC-USD', 40_000, 40_000);
  h.buy('BTC-USD', 1);

  const floorAt = (bid: number) => {
    h.tick('BTC-USD', bid, bid);
    return h.state().rules.maxLossFloor;
  };
  const path = [41_000, 40_500, 41_800, 42_600, 43_500, 41_000].map(floorAt);

  assert.deepEqual(path, [98_500, 98_500, 99_300, 100_100, 100_100, 100_100]);
  assert.equal(h.state().rules.floorLocked, true);
  assert.equal(h.state().rules.highWater, 102_600);
});

test('an intraday trailing floor breaches on a give-back of open profit without any realized loss', () => {
  const h = new Harness(tierWith({ limit: { amount: 2_500 }, mode: 'intraday-trailing' }));
  h.tick('BTC-USD', 40_000, 40_000);
  h.buy('BTC-USD', 1);
  h.tick('BTC-USD', 42_000, 42_000); // peak equity 102,000: floor 99,500

  const giveBack = h.tick('BTC-USD', 39_499, 39_499); // equity 99,499, still above the start-based 97,500

  const [v] = ofType(giveBack, 'rules.violation-detected').map((e) => e.violation);
  assert.deepEqual([v?.ruleId, v?.limit, v?.value], ['max-loss', 99_500, 99_499]);
  assert.equal(h.state().status, 'failed');
});

test('a hard max-loss breach flattens at the breaching tick prices, cancels working orders, and fails the assessment', () => {
  const h = new Harness(tierWith({ limit: { amount: 5_000 }, mode: 'static' }));
  h.tick('BTC-USD', 40_000, 40_010);
  h.tick('ETH-USD', 2_000, 2_001);
  h.buy('BTC-USD', 1); // at 40,010
  const resting = ofType(h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_500 }), 'order.accepted')[0]!.order;
  const seq = h.nextSeq;

  const breach = h.tick('BTC-USD', 35_000, 35_020); // equity 94,990

  assert.deepEqual(types(breach), ['rules.violation-detected', 'order.cancelled', 'order.filled', 'position.closed', 'assessment.failed']);
  assert.deepEqual(
    ofType(breach, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[resting.id, 'BREACH']],
  );
  const [liquidation] = ofType(breach, 'order.filled');
  assert.deepEqual(
    [liquidation?.side, liquidation?.qty, liquidation?.price, liquidation?.liquidation, liquidation?.tickSeq],
    ['sell', 1, 35_000, true, seq],
  );
  assert.deepEqual(
    ofType(breach, 'assessment.failed').map((e) => [e.ruleId, e.balance]),
    [['max-loss', 94_990]],
  );
  const s = h.state();
  assert.equal(s.status, 'failed');
  assert.deepEqual(s.positions, {});
  assert.deepEqual(s.orders, {});
  assert.deepEqual(types(h.tick('BTC-USD', 30_000, 30_000)), []);
  assert.equal(ofType(h.buy('BTC-USD', 1), 'order.rejected')[0]?.reason, 'ASSESSMENT_NOT_ACTIVE');
});

test('a tick crossing a soft daily floor and the max-loss floor together records both and fails once', () => {
  const h = new Harness(
    parseTier({
      id: 'both',
      version: 1,
      name: 'Both floors',
      timezone: 'UTC',
      kinds: ['linear'],
      leverage: 10,
      fees: { linear: 0, binary: 0 },
      phases: [
        {
          name: 'challenge',
          startingBalance: 100_000,
          rules: { dailyLoss: { limit: { amount: 3_000 }, severity: 'soft' }, maxLoss: { limit: { amount: 5_000 } } },
        },
      ],
    }),
  );
  h.tick('BTC-USD', 40_000, 40_000);
  h.buy('BTC-USD', 1);

  const gap = h.tick('BTC-USD', 34_000, 34_000); // equity 94,000: under 97,000 and 95,000

  const violations = ofType(gap, 'rules.violation-detected').map((e) => [e.violation.ruleId, e.violation.severity, e.violation.limit]);
  assert.deepEqual(violations, [
    ['max-loss', 'hard', 95_000],
    ['daily-loss', 'soft', 97_000],
  ]);
  assert.deepEqual(
    ofType(gap, 'assessment.failed').map((e) => e.ruleId),
    ['max-loss'],
  );
  assert.deepEqual(ofType(gap, 'assessment.trading-locked'), []);
  assert.equal(ofType(gap, 'order.filled').length, 1);
});
