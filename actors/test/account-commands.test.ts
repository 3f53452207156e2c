import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { Harness, ofType, RESET1, types } from './harness.js';

/** A UTC 100K tier without fees running `rules`; `extra` sets tier-level options. */
function tierWith(rules: object, extra: Record<string, unknown> = {}) {
  return parseTier({
    id: 'commands',
    version: 1,
    name: 'Account commands',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    ...extra,
    phases: [{ name: 'challenge', startingBalance: 100_000, rules }],
  });
}

test('pausing keeps open positions and working orders by default and refuses new orders until resumed', () => {
  const h = new Harness(tierWith({ dailyLoss: { limit: { amount: 1_000 } } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_000 });

  const pause = h.command({ kind: 'pause' });
  const whilePaused = h.buy('ETH-USD', 1);
  const resume = h.command({ kind: 'resume' });
  const after = h.buy('ETH-USD', 1);

  assert.deepEqual(types(pause), ['assessment.paused']);
  assert.equal(h.state().positions['ETH-USD']?.qty, 11);
  assert.equal(ofType(whilePaused, 'order.rejected')[0]?.reason, 'ASSESSMENT_NOT_ACTIVE');
  assert.deepEqual(types(resume), ['assessment.resumed']);
  assert.equal(ofType(after, 'order.filled').length, 1);
  assert.equal(Object.keys(h.state().orders).length, 1);
});

for (const mode of ['indexed', 'full-scan'] as const) {
  test(`a paused account keeps being judged: a drop through the daily floor while paused fails it at that tick (${mode} kernel)`, () => {
    const h = new Harness(tierWith({ dailyLoss: { limit: { amount: 1_000 } } }), { mode });
    h.tick('ETH-USD', 2_000, 2_000);
    h.buy('ETH-USD', 10);
    h.command({ kind: 'pause' });

    const inside = h.tick('ETH-USD', 1_950, 1_950);
    const crash = h.tick('ETH-USD', 1_899, 1_899);

    assert.deepEqual(types(inside), []);
    assert.deepEqual(
      ofType(crash, 'assessment.failed').map((e) => e.ruleId),
      ['daily-loss'],
    );
  });
}

test('a tier with flattenOnPause flattens open positions and cancels orders when the account is paused', () => {
  const h = new Harness(tierWith({ dailyLoss: { limit: { amount: 1_000 } } }, { flattenOnPause: true }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  const resting = ofType(h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_000 }), 'order.accepted')[0]!.order;
  h.tick('ETH-USD', 2_020, 2_020);

  const pause = h.command({ kind: 'pause' });
  const crash = h.tick('ETH-USD', 1_000, 1_000);

  assert.deepEqual(types(pause), ['order.cancelled', 'order.filled', 'position.closed', 'assessment.paused']);
  assert.deepEqual(
    ofType(pause, 'order.cancelled').map((e) => [e.orderId, e.reason]),
    [[resting.id, 'FLATTEN']],
  );
  assert.deepEqual(
    ofType(pause, 'order.filled').map((e) => [e.price, e.liquidation]),
    [[2_020, false]],
  );
  assert.deepEqual(types(crash), []);
  assert.equal(h.state().balance, 100_200);
});

test("the fill that closes an abandoned account's position is marked as a liquidation", () => {
  const h = new Harness(tierWith({}));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 1);

  const out = h.command({ kind: 'abandon' });

  assert.deepEqual(
    ofType(out, 'order.filled').map((e) => [e.qty, e.liquidation]),
    [[1, true]],
  );
  assert.equal(h.state().status, 'abandoned');
});

test('a phase whose target is met while a soft daily lock holds passes at the reset that lifts the lock, not before', () => {
  const h = new Harness(
    tierWith({
      profitTarget: { target: { pct: 10 } },
      dailyLoss: { limit: { amount: 1_000 }, severity: 'soft' },
      minTradingDays: { days: 2 },
    }),
  );
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 100);
  h.tick('ETH-USD', 2_120, 2_120);
  h.sell('ETH-USD', 100); // +12,000: the target is met, one trading day short
  h.clock(RESET1);
  h.buy('ETH-USD', 100); // the second trading day

  const breach = h.tick('ETH-USD', 2_109, 2_109); // -1,100 on the day: soft breach, balance 110,900
  const later = h.clock(RESET1 + 3_600_000);
  const reset = h.clock(RESET1 + 86_400_000);

  assert.deepEqual(
    ofType(breach, 'assessment.trading-locked').map((e) => e.ruleId),
    ['daily-loss'],
  );
  assert.deepEqual(ofType(breach, 'assessment.passed'), []);
  assert.deepEqual(ofType(later, 'assessment.passed'), []);
  assert.deepEqual(types(reset), ['assessment.trading-unlocked', 'assessment.day-started', 'assessment.passed']);
});
