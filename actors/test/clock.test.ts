/**
 * Time: every input's timestamp moves the engine's time forward, and every
 * deadline that time passes fires as of its own instant, in time order, before
 * the input that moved it is applied. Verdicts must not depend on whether a
 * tick or the clock beat came first, nor on how often the clock beats.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import type { OutputEvent } from '../../engine/index.js';
import { DAY, Harness, HOUR, ofType, RESET1, T0, types } from './harness.js';

/** A UTC 100K tier without fees running `rules` (reset 00:00). */
function tierWith(rules: object, maxDays?: number) {
  return parseTier({
    id: 'clock',
    version: 1,
    name: 'Clock',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    phases: [{ name: 'challenge', startingBalance: 100_000, maxDays, rules }],
  });
}

/** Daily loss 5,000 from the day-end balance: 95,000 on day 0; after a +4,000 day, 99,000. */
const DAILY = { dailyLoss: { limit: { amount: 5_000 }, basis: 'balance', severity: 'hard' } };

/** Day 0 closes +4,000 (balance 104,000) with 1 BTC held at 50,000 over the reset. */
function profitableDayHoldingBtc(): Harness {
  const h = new Harness(tierWith(DAILY));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 2_400, 2_400);
  h.command({ kind: 'close-position', symbol: 'ETH-USD', clientOrderId: 'close-eth' });
  h.tick('BTC-USD', 50_000, 50_000);
  h.buy('BTC-USD', 1);
  assert.equal(h.state().balance, 104_000);
  return h;
}

/** Events without their place in the input order: what must not depend on where a clock line falls. */
function story(events: readonly OutputEvent[]) {
  return events.map(({ input: _i, n: _n, ...rest }) => rest);
}

test("a tick stamped just after the reset that arrives before the clock beat is judged against the new day's floor", () => {
  const h = profitableDayHoldingBtc();
  // 98,500 is above yesterday's floor (95,000) and below today's (99,000); the price is back before the beat.
  const dip = h.tick('BTC-USD', 44_500, 44_500, { ts: RESET1 + 400 });
  h.tick('BTC-USD', 50_000, 50_000, { ts: RESET1 + 800 });
  h.clock(RESET1 + 1_000);

  assert.deepEqual(
    types(dip).slice(0, 2),
    ['assessment.day-started', 'rules.violation-detected'],
    'the day rolls before the tick is applied',
  );
  assert.equal(ofType(dip, 'assessment.day-started')[0]!.at, RESET1, 'the roll happens as of the reset, not of the tick');
  const { violation } = ofType(dip, 'rules.violation-detected')[0]!;
  assert.deepEqual([violation.ruleId, violation.limit, violation.equity, violation.at], ['daily-loss', 99_000, 98_500, RESET1 + 400]);
  assert.equal(violation.cause.kind, 'tick');
  assert.equal(h.state().status, 'failed');
  assert.deepEqual(
    dip.map((e) => e.n),
    dip.map((_, k) => k),
    'one input that steps an actor twice numbers its events without repeats',
  );
});

test('a tick and a clock input with the same timestamp give the same verdict whichever comes first', () => {
  const clockFirst = profitableDayHoldingBtc();
  clockFirst.clock(RESET1);
  clockFirst.tick('BTC-USD', 44_500, 44_500, { ts: RESET1 });
  const tickFirst = profitableDayHoldingBtc();
  tickFirst.tick('BTC-USD', 44_500, 44_500, { ts: RESET1 });
  tickFirst.clock(RESET1);

  const verdict = (h: Harness) => h.all('rules.violation-detected').map((e) => ({ ...e.violation, cause: e.violation.cause.kind }));
  assert.deepEqual(verdict(tickFirst), verdict(clockFirst));
  assert.deepEqual(
    verdict(tickFirst).map((v) => [v.ruleId, v.cause, v.at]),
    [['daily-loss', 'tick', RESET1]],
  );
});

test('a tick past a deadline fires it for every assessment in the shard, including those the tick does not reach', () => {
  const h = new Harness(tierWith({ inactivity: { days: 1 } }), { assessments: ['a1', 'a2'] });
  h.clock(T0 + 12 * HOUR);
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 1, {}, 'a2');

  const out = h.tick('BTC-USD', 50_000, 50_000, { ts: T0 + DAY + 1_000 });

  const expired = ofType(out, 'assessment.expired');
  assert.deepEqual(
    expired.map((e) => [e.assessmentId, e.at, e.expiry.deadline]),
    [['a1', T0 + DAY, T0 + DAY]],
  );
  assert.equal(h.state('a2').status, 'active', 'a2 traded: its own deadline is later');
});

test('a clock input that jumps over the weekend window flattens the position as of the window start', () => {
  const h = new Harness(tierWith({ weekendFlat: { from: { day: 5, time: '21:00' }, to: { day: 0, time: '21:00' }, action: 'flatten' } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  const fridayEvening = Date.UTC(2024, 0, 5, 21);

  const jump = h.clock(Date.UTC(2024, 0, 8, 1)); // Tuesday → Monday 01:00: a heartbeat gap over the weekend

  const flattened = ofType(jump, 'order.filled');
  assert.deepEqual(
    flattened.map((e) => [e.qty, e.liquidation, e.at]),
    [[10, true, fridayEvening]],
  );
  assert.equal(ofType(jump, 'rules.violation-detected')[0]?.violation.at, fridayEvening);
  assert.deepEqual(h.state().positions, {});
  // Resets and the window start interleave in time order: Wed, Thu, Fri, the window, Sat, Sun, Mon.
  const order = jump.filter((e) => e.type === 'assessment.day-started' || e.type === 'order.filled').map((e) => e.at);
  assert.deepEqual(order, [RESET1, RESET1 + DAY, RESET1 + 2 * DAY, fridayEvening, RESET1 + 3 * DAY, RESET1 + 4 * DAY, RESET1 + 5 * DAY]);
});

test('a clock input that jumps over the weekend window fails a breach-on-weekend account at the window start', () => {
  const h = new Harness(tierWith({ weekendFlat: { from: { day: 5, time: '21:00' }, to: { day: 0, time: '21:00' }, action: 'breach' } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);

  const jump = h.clock(Date.UTC(2024, 0, 8, 1));

  assert.deepEqual(
    ofType(jump, 'assessment.failed').map((e) => [e.ruleId, e.at]),
    [['weekend-flat', Date.UTC(2024, 0, 5, 21)]],
  );
  assert.equal(ofType(jump, 'assessment.day-started').length, 3, 'no day rolls after the verdict');
});

test('a clock jump past an inactivity deadline fires the resets before it, then the expiry, and no reset after it', () => {
  const h = new Harness(tierWith({ inactivity: { days: 2 } }));

  const jump = h.clock(T0 + 5 * DAY);

  assert.deepEqual(
    ofType(jump, 'assessment.day-started').map((e) => e.at),
    [RESET1, RESET1 + DAY],
  );
  assert.deepEqual(
    ofType(jump, 'assessment.expired').map((e) => [e.ruleId, e.at]),
    [['inactivity', T0 + 2 * DAY]],
  );
  assert.equal(h.state().dayIndex, 2);
});

test('of two time limits a clock jump passes, the one whose deadline came first ends the phase', () => {
  // Phase limit 3 days, inactivity 5 days from the last order on day 1: the phase limit is first.
  const h = new Harness(tierWith({ inactivity: { days: 5 } }, 3));
  h.clock(T0 + DAY);
  h.tick('ETH-USD', 2_000, 2_000);
  h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_000 });

  const jump = h.clock(T0 + 10 * DAY);

  assert.deepEqual(
    ofType(jump, 'assessment.expired').map((e) => [e.ruleId, e.at]),
    [['phase-time-limit', T0 + 3 * DAY]],
  );
});

test('the same story with a clock beat every minute and with one clock input a week later gives the same events', () => {
  const run = (beatEvery: number) => {
    const h = new Harness(
      tierWith({
        ...DAILY,
        inactivity: { days: 5 },
        weekendFlat: { from: { day: 5, time: '21:00' }, to: { day: 0, time: '21:00' }, action: 'flatten' },
      }),
    );
    h.tick('ETH-USD', 2_000, 2_000);
    h.buy('ETH-USD', 10);
    for (let t = T0 + beatEvery; t <= T0 + 7 * DAY; t += beatEvery) h.clock(t);
    return story(h.log);
  };
  const dense = run(60_000);
  const sparse = run(7 * DAY);
  assert.deepEqual(sparse, dense);
  assert.ok(
    dense.some((e) => e.type === 'assessment.expired'),
    'the story reaches its end',
  );
  assert.ok(dense.some((e) => e.type === 'order.filled' && e.liquidation && e.at === Date.UTC(2024, 0, 5, 21)));
});

test('a phase time limit that runs out while the account is paused expires it as of the deadline, whatever the clock cadence', () => {
  const run = (beats: readonly number[]) => {
    const h = new Harness(tierWith({ inactivity: { days: 2 } }, 3));
    h.clock(T0 + DAY);
    h.command({ kind: 'pause' });
    for (const t of beats) h.clock(t);
    return h;
  };
  const dense = run([T0 + 2 * DAY, T0 + 3 * DAY - 1, T0 + 3 * DAY + 60_000, T0 + 6 * DAY]);
  const sparse = run([T0 + 6 * DAY]);

  assert.deepEqual(
    dense.all('assessment.expired').map((e) => [e.ruleId, e.at, e.expiry.deadline]),
    [['phase-time-limit', T0 + 3 * DAY, T0 + 3 * DAY]],
    'a pause stops inactivity, not the phase clock',
  );
  assert.deepEqual(story(sparse.log), story(dense.log));
  assert.deepEqual(
    dense.all('assessment.day-started').map((e) => e.at),
    [RESET1, RESET1 + DAY, RESET1 + 2 * DAY],
    'a paused account still rolls its days',
  );
});

test('an order placed after a tick stamped inside a blackout is refused before the clock beat reaches the blackout', () => {
  const cpi = T0 + HOUR;
  const h = new Harness(tierWith({ blackouts: [{ from: cpi, to: cpi + 30 * 60_000, label: 'CPI' }] }));
  h.tick('BTC-USD', 50_000, 50_000, { ts: cpi + 200 }); // the venue's clock is past 10:00:00; the next beat is not yet

  const out = h.buy('BTC-USD', 1);

  assert.deepEqual(
    ofType(out, 'order.rejected').map((e) => [e.reason, e.at]),
    [['BLACKOUT_WINDOW', cpi + 200]],
  );
});
