import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { DAY, Harness, ofType, RESET1, T0, types } from './harness.js';

/** A UTC 100K tier without fees whose only rule is the given daily loss. */
function tierWith(dailyLoss: object) {
  return parseTier({
    id: 'daily',
    version: 1,
    name: 'Daily loss',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    phases: [{ name: 'challenge', startingBalance: 100_000, rules: { dailyLoss } }],
  });
}

/** Realize `pnl` today with a round trip of 10 ETH from 2,000. */
function realize(h: Harness, pnl: number): void {
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 2_000 + pnl / 10, 2_000 + pnl / 10);
  h.sell('ETH-USD', 10);
}

for (const mode of ['indexed', 'full-scan'] as const) {
  test(`the daily floor is breached at the exact tick that crosses it, not at a later one (${mode} kernel)`, () => {
    const h = new Harness(tierWith({ limit: { amount: 1_000 }, severity: 'hard' }), { mode });
    h.tick('BTC-USD', 40_000, 40_000);
    h.buy('BTC-USD', 1);

    const near = h.tick('BTC-USD', 39_200, 39_200);
    const atFloor = h.tick('BTC-USD', 39_000, 39_000); // equity 99,000: at the floor is not below it
    const crossingSeq = h.nextSeq;
    const crossing = h.tick('BTC-USD', 38_999, 38_999);
    const after = h.tick('BTC-USD', 38_000, 38_000);

    assert.deepEqual(types(near), []);
    assert.deepEqual(types(atFloor), []);
    const [v] = ofType(crossing, 'rules.violation-detected').map((e) => e.violation);
    assert.equal(v?.ruleId, 'daily-loss');
    assert.deepEqual(v?.cause, { kind: 'tick', seq: crossingSeq, ts: T0, symbol: 'BTC-USD', bid: 38_999, ask: 38_999 });
    assert.equal(v?.limit, 99_000);
    assert.equal(v?.value, 98_999);
    assert.deepEqual(
      ofType(crossing, 'assessment.failed').map((e) => [e.ruleId, e.balance]),
      [['daily-loss', 98_999]],
    );
    assert.deepEqual(types(after), []);
  });
}

test('a new day floor is the prior day-end balance minus the limit, set at the reset', () => {
  const h = new Harness(tierWith({ limit: { pct: 5 }, basis: 'balance' })); // 5% of the 100K start = 5,000
  realize(h, 1_500);
  assert.equal(h.state().rules.dailyFloor, 95_000); // today's floor does not move with profit

  const reset1 = h.clock(RESET1);
  realize(h, -2_000);
  const reset2 = h.clock(RESET1 + DAY);

  assert.deepEqual(
    ofType(reset1, 'assessment.day-started').map((e) => [e.dayIndex, e.balance, e.dailyFloor]),
    [[1, 101_500, 96_500]],
  );
  assert.deepEqual(
    ofType(reset2, 'assessment.day-started').map((e) => [e.dayIndex, e.balance, e.dailyFloor]),
    [[2, 99_500, 94_500]],
  );
});

test('a pct limit of the day base is a share of the day-end balance rather than of the start', () => {
  const h = new Harness(tierWith({ limit: { pct: 5 }, pctOf: 'base' }));
  realize(h, 2_000);

  h.clock(RESET1);

  assert.equal(h.state().rules.dailyFloor, 102_000 * 0.95);
});

test('with a balance-or-equity basis an open profit at the reset lifts the floor to equity minus the limit', () => {
  const h = new Harness(tierWith({ limit: { amount: 1_000 }, basis: 'balance-or-equity' }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 2_200, 2_200); // balance 100,000, equity 102,000

  const reset = h.clock(RESET1);
  const dip = h.tick('ETH-USD', 2_095, 2_095); // equity 100,950: above balance − limit, below equity − limit

  assert.deepEqual(
    ofType(reset, 'assessment.day-started').map((e) => [e.balance, e.equity, e.dailyFloor]),
    [[100_000, 102_000, 101_000]],
  );
  const [v] = ofType(dip, 'rules.violation-detected').map((e) => e.violation);
  assert.deepEqual([v?.ruleId, v?.limit, v?.value], ['daily-loss', 101_000, 100_950]);
});

test('with a balance-or-equity basis an open loss at the reset leaves the floor on the balance', () => {
  const h = new Harness(tierWith({ limit: { amount: 1_000 }, basis: 'balance-or-equity' }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 1_950, 1_950); // equity 99,500

  h.clock(RESET1);

  assert.equal(h.state().rules.dailyFloor, 99_000);
  assert.equal(h.state().status, 'active');
});

test('an overnight loss breaches the daily floor at the reset, not before', () => {
  const h = new Harness(tierWith({ limit: { amount: 1_000 }, basis: 'balance' }));
  realize(h, 1_500); // balance 101,500; today's floor stays 99,000
  h.tick('ETH-USD', 2_150, 2_150);
  h.buy('ETH-USD', 10);
  const dayZero = h.tick('ETH-USD', 2_030, 2_030); // equity 100,300: far above today's floor

  const beforeReset = h.clock(RESET1 - 1);
  const atReset = h.clock(RESET1); // new floor 100,500 > equity

  assert.deepEqual(ofType([...dayZero, ...beforeReset], 'rules.violation-detected'), []);
  assert.deepEqual(types(atReset).slice(0, 2), ['assessment.day-started', 'rules.violation-detected']);
  const [v] = ofType(atReset, 'rules.violation-detected').map((e) => e.violation);
  assert.deepEqual(v?.cause, { kind: 'clock', time: RESET1 });
  assert.deepEqual([v?.limit, v?.value, v?.balance], [100_500, 100_300, 101_500]);
  assert.deepEqual(
    ofType(atReset, 'order.filled').map((e) => [e.price, e.liquidation]),
    [[2_030, true]],
  );
  assert.equal(h.state().status, 'failed');
});

test('a soft daily breach flattens, locks trading until the next reset, and unlocks at the reset', () => {
  const h = new Harness(tierWith({ limit: { amount: 1_000 }, severity: 'soft' }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  const resting = ofType(h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_500 }), 'order.accepted')[0]!.order;

  const breach = h.tick('ETH-USD', 1_899, 1_899); // equity 98,990
  const locked = h.buy('ETH-USD', 1);
  const reset = h.clock(RESET1);
  const unlocked = h.buy('ETH-USD', 1);

  assert.equal(ofType(breach, 'rules.violation-detected')[0]?.violation.severity, 'soft');
  assert.deepEqual(
    ofType(breach, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[resting.id, 'BREACH']],
  );
  assert.deepEqual(
    ofType(breach, 'order.filled').map((e) => [e.qty, e.price, e.liquidation]),
    [[10, 1_899, true]],
  );
  assert.deepEqual(
    ofType(breach, 'assessment.trading-locked').map((e) => [e.ruleId, e.until]),
    [['daily-loss', RESET1]],
  );
  assert.deepEqual(ofType(breach, 'assessment.failed'), []);
  assert.equal(ofType(locked, 'order.rejected')[0]?.reason, 'TRADING_LOCKED');
  assert.deepEqual(types(reset), ['assessment.trading-unlocked', 'assessment.day-started']);
  assert.equal(ofType(reset, 'assessment.day-started')[0]?.dailyFloor, 98_990 - 1_000);
  assert.equal(ofType(unlocked, 'order.filled').length, 1);
  assert.equal(h.state().status, 'active');
});

test('a violation carries the tier id and version, equity, limit, and every position with its mark', () => {
  const h = new Harness(
    parseTier({
      id: 'evidence-tier',
      version: 3,
      name: 'Evidence',
      timezone: 'UTC',
      kinds: ['linear'],
      leverage: 10,
      fees: { linear: 0, binary: 0 },
      phases: [{ name: 'challenge', startingBalance: 100_000, rules: { dailyLoss: { limit: { amount: 1_000 } } } }],
    }),
  );
  h.tick('BTC-USD', 40_000, 40_010);
  h.tick('ETH-USD', 2_000, 2_002);
  h.buy('BTC-USD', 1); // long at 40,010, marked at the bid
  h.sell('ETH-USD', 5); // short at 2,000, marked at the ask
  h.tick('ETH-USD', 2_100, 2_102); // short −510

  const breach = h.tick('BTC-USD', 39_500, 39_510); // long −510: equity 98,980

  const v = ofType(breach, 'rules.violation-detected')[0]!.violation;
  assert.deepEqual(
    {
      tierId: v.tierId,
      tierVersion: v.tierVersion,
      phase: v.phase,
      at: v.at,
      equity: v.equity,
      balance: v.balance,
      limit: v.limit,
      value: v.value,
      severity: v.severity,
    },
    {
      tierId: 'evidence-tier',
      tierVersion: 3,
      phase: 'challenge',
      at: T0,
      equity: 98_980,
      balance: 100_000,
      limit: 99_000,
      value: 98_980,
      severity: 'hard',
    },
  );
  assert.deepEqual(v.positions, [
    { symbol: 'BTC-USD', qty: 1, avgEntry: 40_010, mark: 39_500, unrealizedPnl: -510 },
    { symbol: 'ETH-USD', qty: -5, avgEntry: 2_000, mark: 2_102, unrealizedPnl: -510 },
  ]);
  assert.deepEqual(h.state().violations, [v]);
});

test('a flatten command is judged at once: closing fees that take equity below the daily floor breach on the command', () => {
  const h = new Harness(
    parseTier({
      id: 'daily-fees',
      version: 1,
      name: 'Daily loss with fees',
      timezone: 'UTC',
      kinds: ['linear'],
      leverage: 10,
      fees: { linear: 0.001, binary: 0 },
      phases: [{ name: 'challenge', startingBalance: 100_000, rules: { dailyLoss: { limit: { amount: 1_000 } } } }],
    }),
  );
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10); // fee 20: balance 99,980
  const atFloor = h.tick('ETH-USD', 1_902, 1_902); // equity 99,000: at the floor

  const flatten = h.command({ kind: 'flatten' }); // fee 19.02: balance 98,980.98

  assert.deepEqual(ofType(atFloor, 'rules.violation-detected'), []);
  const [v] = ofType(flatten, 'rules.violation-detected').map((e) => e.violation);
  assert.deepEqual([v?.ruleId, v?.cause.kind, v?.limit, Math.round(v!.value * 100) / 100], ['daily-loss', 'command', 99_000, 98_980.98]);
  assert.equal(h.state().status, 'failed');
});

test('a soft daily breach whose liquidation fee takes the balance below the max-loss floor fails the assessment at once', () => {
  const h = new Harness(
    parseTier({
      id: 'soft-fee',
      version: 1,
      name: 'Soft daily, static max',
      timezone: 'UTC',
      resetTime: '00:00',
      kinds: ['linear'],
      leverage: 10,
      fees: { linear: 0.001, binary: 0 },
      phases: [
        {
          name: 'challenge',
          startingBalance: 100_000,
          rules: {
            dailyLoss: { limit: { amount: 1_000 }, basis: 'balance', severity: 'soft' },
            maxLoss: { limit: { amount: 1_020 }, mode: 'static' },
          },
        },
      ],
    }),
  );
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10); // fee 20: balance 99,980

  // Equity 98,995: below the daily floor (99,000), above the max-loss floor (98,980); the 19.015 exit fee is not.
  const out = h.tick('ETH-USD', 1_901.5, 1_901.5);

  assert.deepEqual(
    ofType(out, 'rules.violation-detected').map((e) => e.violation.ruleId),
    ['daily-loss', 'max-loss'],
  );
  assert.deepEqual(
    ofType(out, 'assessment.failed').map((e) => e.ruleId),
    ['max-loss'],
  );
  assert.equal(h.state().status, 'failed');
});
