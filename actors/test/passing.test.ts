import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { Harness, ofType, RESET1, types } from './harness.js';

/** A UTC 100K single-phase tier without fees running `rules`. */
function tierWith(rules: object) {
  return parseTier({
    id: 'pass',
    version: 1,
    name: 'Passing',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    phases: [{ name: 'challenge', startingBalance: 100_000, rules }],
  });
}

/** Realize `pnl` with a round trip of 10 ETH from 2,000; returns the events of the closing sell. */
function realize(h: Harness, pnl: number) {
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 2_000 + pnl / 10, 2_000 + pnl / 10);
  return h.sell('ETH-USD', 10);
}

test('a balance target ignores open profit and passes when the profit is closed', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 1_000 }, basis: 'balance' } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);

  const open = h.tick('ETH-USD', 2_150, 2_150); // equity 101,500, balance 100,000
  const close = h.sell('ETH-USD', 10);

  assert.deepEqual(types(open), []);
  assert.deepEqual(
    ofType(close, 'assessment.passed').map((e) => [e.phase, e.balance]),
    [['challenge', 101_500]],
  );
  assert.equal(h.state().status, 'passed');
});

test('an equity target passes at the tick equity reaches it and flattens open positions and orders', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 1_000 }, basis: 'equity' } }));
  h.tick('BTC-USD', 40_000, 40_000);
  h.buy('BTC-USD', 1);
  const resting = ofType(h.place({ symbol: 'BTC-USD', side: 'buy', type: 'limit', qty: 0.1, limitPrice: 30_000 }), 'order.accepted')[0]!
    .order;

  const short = h.tick('BTC-USD', 40_999, 40_999);
  const reach = h.tick('BTC-USD', 41_000, 41_001);

  assert.deepEqual(types(short), []);
  assert.deepEqual(types(reach), ['order.cancelled', 'order.filled', 'position.closed', 'assessment.passed']);
  assert.deepEqual(
    ofType(reach, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[resting.id, 'PHASE_ENDED']],
  );
  assert.deepEqual(
    ofType(reach, 'order.filled').map((e) => [e.price, e.liquidation]),
    [[41_000, false]],
  );
  assert.equal(ofType(reach, 'assessment.passed')[0]?.balance, 101_000);
});

test('minimum trading days block a pass until a position has been opened on the Nth day and the account is flat', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 1_000 } }, minTradingDays: { days: 2 } }));

  const dayZero = realize(h, 1_500);
  const reset = h.clock(RESET1);
  h.tick('ETH-USD', 2_000, 2_000);
  const open = h.buy('ETH-USD', 1);
  const close = h.sell('ETH-USD', 1);

  assert.deepEqual(
    ofType(dayZero, 'assessment.pass-blocked').map((e) => [e.ruleId, e.detail]),
    [['min-trading-days', '1 of 2 trading days']],
  );
  assert.deepEqual(types(reset), ['assessment.day-started']);
  assert.deepEqual(types(open), ['order.accepted', 'order.filled', 'position.opened']);
  assert.deepEqual(
    ofType(close, 'assessment.passed').map((e) => e.balance),
    [101_500],
  );
  assert.deepEqual(h.state().tradingDays, [0, 1]);
});

test('a day on which a position is only closed does not count as a trading day', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 1_000 } }, minTradingDays: { days: 2 } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.clock(RESET1);
  h.tick('ETH-USD', 2_150, 2_150);

  const close = h.sell('ETH-USD', 10);

  assert.deepEqual(
    ofType(close, 'assessment.pass-blocked').map((e) => e.ruleId),
    ['min-trading-days'],
  );
  assert.deepEqual(h.state().tradingDays, [0]);
  assert.equal(h.state().status, 'active');
});

test('a minimum number of trades blocks a pass until that many positions have been opened', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 1_000 } }, minTrades: { count: 3 } }));
  realize(h, 600);

  const second = realize(h, 600);
  const third = realize(h, 0);

  assert.deepEqual(
    ofType(second, 'assessment.pass-blocked').map((e) => [e.ruleId, e.detail]),
    [['min-trades', '2 of 3 trades']],
  );
  assert.deepEqual(
    ofType(third, 'assessment.passed').map((e) => e.balance),
    [101_200],
  );
});

test('a balance target is not met while a position is open, since closing it could undo the closed profit', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 1_000 }, basis: 'balance' } }));
  h.tick('BTC-USD', 40_000, 40_000);
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('BTC-USD', 1);
  h.buy('ETH-USD', 10);
  h.tick('BTC-USD', 41_500, 41_500);
  h.tick('ETH-USD', 1_920, 1_920); // ETH −800 open

  const closeWinner = h.sell('BTC-USD', 1); // balance 101,500 ≥ target, ETH still open
  const closeLoser = h.sell('ETH-USD', 10); // balance 100,700 < target

  assert.deepEqual(ofType(closeWinner, 'assessment.passed'), []);
  assert.deepEqual(ofType(closeLoser, 'assessment.passed'), []);
  assert.equal(h.state().balance, 100_700);
  assert.equal(h.state().status, 'active');
});

test('consistency blocks passing without failing, then allows it once the best day is a small enough share', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 1_000 } }, consistency: { maxBestDayShare: 0.5 } }));

  const dayZero = realize(h, 1_500); // best day 1,500 of 1,500
  h.clock(RESET1);
  const stillBlocked = realize(h, 1_000); // best day 1,500 of 2,500: 60%
  const allowed = realize(h, 500); // best day 1,500 of 3,000: 50%

  assert.deepEqual(
    ofType(dayZero, 'assessment.pass-blocked').map((e) => e.ruleId),
    ['consistency'],
  );
  assert.deepEqual(
    ofType(stillBlocked, 'assessment.pass-blocked').map((e) => e.ruleId),
    ['consistency'],
  );
  assert.deepEqual(ofType(stillBlocked, 'assessment.passed'), []);
  assert.deepEqual(h.all('assessment.failed'), []);
  assert.deepEqual(h.all('rules.violation-detected'), []);
  assert.deepEqual(
    ofType(allowed, 'assessment.passed').map((e) => e.balance),
    [103_000],
  );
});

test('passing a two-step challenge moves to verification with a fresh balance and floors, then passing that passes the assessment', () => {
  const h = new Harness(
    parseTier({
      id: 'two-step',
      version: 2,
      name: 'Two step',
      timezone: 'UTC',
      kinds: ['linear'],
      leverage: 10,
      fees: { linear: 0, binary: 0 },
      phases: [
        {
          name: 'challenge',
          startingBalance: 100_000,
          rules: { profitTarget: { target: { amount: 1_000 } }, maxLoss: { limit: { pct: 10 } } },
        },
        {
          name: 'verification',
          startingBalance: 50_000,
          rules: { profitTarget: { target: { amount: 500 } }, dailyLoss: { limit: { pct: 5 } }, maxLoss: { limit: { pct: 10 } } },
        },
      ],
    }),
  );

  const challenge = realize(h, 1_500);
  const mid = h.state();
  const verification = realize(h, 600);

  assert.deepEqual(
    ofType(challenge, 'assessment.phase-passed').map((e) => [e.phase, e.nextPhase, e.balance]),
    [['challenge', 'verification', 101_500]],
  );
  assert.deepEqual(
    ofType(challenge, 'assessment.started').map((e) => [e.phase, e.balance, e.dailyFloor, e.maxLossFloor]),
    [['verification', 50_000, 47_500, 45_000]],
  );
  assert.deepEqual(
    [mid.phaseIndex, mid.status, mid.balance, mid.startingBalance, mid.tradeCount, mid.tradingDays],
    [1, 'active', 50_000, 50_000, 0, []],
  );
  assert.deepEqual(
    ofType(verification, 'assessment.passed').map((e) => [e.phase, e.balance]),
    [['verification', 50_600]],
  );
  assert.equal(h.state().status, 'passed');
});

test('flattening an account whose closed balance then meets the target passes on the flatten command', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 1_000 }, basis: 'balance' } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 2_150, 2_150);

  const flatten = h.command({ kind: 'flatten' });

  assert.deepEqual(
    ofType(flatten, 'assessment.passed').map((e) => e.balance),
    [101_500],
  );
});
