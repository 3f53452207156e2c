import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseTier } from '../index.js';
import { DAY, Harness, HOUR, ofType, T0, types } from './harness.js';

/** A UTC 100K tier without fees running `rules`, with an optional phase length. */
function tierWith(rules: object, maxDays?: number) {
  return parseTier({
    id: 'life',
    version: 1,
    name: 'Lifecycle',
    timezone: 'UTC',
    resetTime: '00:00',
    kinds: ['linear'],
    leverage: 10,
    fees: { linear: 0, binary: 0 },
    phases: [{ name: 'challenge', startingBalance: 100_000, maxDays, rules }],
  });
}

test('an assessment with no new order for the inactivity period expires at its deadline', () => {
  const h = new Harness(tierWith({ inactivity: { days: 3 } }));

  const before = h.clock(T0 + 3 * DAY - 1);
  const at = h.clock(T0 + 3 * DAY);

  assert.deepEqual(ofType(before, 'assessment.expired'), []);
  assert.deepEqual(
    ofType(at, 'assessment.expired').map((e) => [e.ruleId, e.balance]),
    [['inactivity', 100_000]],
  );
  assert.equal(h.state().status, 'expired');
});

test('an inactivity expiry carries its deadline and last activity as its evidence, not a violation whose limit holds a timestamp', () => {
  const h = new Harness(tierWith({ inactivity: { days: 3 } }));
  const at = h.clock(T0 + 4 * DAY);

  assert.deepEqual(ofType(at, 'rules.violation-detected'), [], 'a time limit is not a money limit');
  assert.deepEqual(h.state().violations, []);
  const [expired] = ofType(at, 'assessment.expired');
  assert.equal(expired?.at, T0 + 3 * DAY, 'judged as of the deadline, not of the clock input that passed it');
  assert.deepEqual(
    { ...expired!.expiry, detail: undefined },
    {
      ruleId: 'inactivity',
      deadline: T0 + 3 * DAY,
      days: 3,
      lastActivityAt: T0,
      phaseStartedAt: T0,
      detail: undefined,
    },
  );
});

test('a phase time limit expiry carries the phase start and the deadline as its evidence', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 10_000 } } }, 5));
  const at = h.clock(T0 + 9 * DAY);

  assert.deepEqual(ofType(at, 'rules.violation-detected'), []);
  const [expired] = ofType(at, 'assessment.expired');
  assert.equal(expired?.at, T0 + 5 * DAY);
  assert.deepEqual(
    [expired!.expiry.ruleId, expired!.expiry.deadline, expired!.expiry.days, expired!.expiry.phaseStartedAt],
    ['phase-time-limit', T0 + 5 * DAY, 5, T0],
  );
});

test('an accepted order restarts the inactivity period', () => {
  const h = new Harness(tierWith({ inactivity: { days: 3 } }));
  h.clock(T0 + 2 * DAY);
  h.tick('ETH-USD', 2_000, 2_000);
  h.place({ symbol: 'ETH-USD', side: 'buy', type: 'limit', qty: 1, limitPrice: 1_000 });

  const oldDeadline = h.clock(T0 + 3 * DAY);
  const newDeadline = h.clock(T0 + 5 * DAY);

  assert.deepEqual(ofType(oldDeadline, 'assessment.expired'), []);
  assert.deepEqual(
    ofType(newDeadline, 'assessment.expired').map((e) => e.ruleId),
    ['inactivity'],
  );
  assert.deepEqual(
    ofType(newDeadline, 'order.cancelled').map((e) => e.reason),
    ['BREACH'],
  );
});

test('a phase not passed within its maximum days expires and its open position is closed', () => {
  const h = new Harness(tierWith({ profitTarget: { target: { amount: 10_000 } } }, 5));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 2_050, 2_050);

  const before = h.clock(T0 + 5 * DAY - 1);
  const at = h.clock(T0 + 5 * DAY);

  assert.deepEqual(ofType(before, 'assessment.expired'), []);
  assert.deepEqual(
    ofType(at, 'order.filled').map((e) => [e.qty, e.price, e.liquidation]),
    [[10, 2_050, true]],
  );
  assert.deepEqual(
    ofType(at, 'assessment.expired').map((e) => [e.ruleId, e.balance]),
    [['phase-time-limit', 100_500]],
  );
  assert.equal(h.state().status, 'expired');
});

test('time spent paused does not count as inactivity: resuming restarts the period', () => {
  const h = new Harness(tierWith({ inactivity: { days: 3 } }));
  h.command({ kind: 'pause' });
  h.clock(T0 + 10 * DAY); // paused past the inactivity period: nothing expires
  const resume = h.command({ kind: 'resume' });
  const before = h.clock(T0 + 13 * DAY - 1);
  const at = h.clock(T0 + 13 * DAY);

  assert.deepEqual(types(resume), ['assessment.resumed']);
  assert.deepEqual(ofType(before, 'assessment.expired'), []);
  assert.deepEqual(
    ofType(at, 'assessment.expired').map((e) => e.ruleId),
    ['inactivity'],
  );
});

test('resuming an assessment that is not paused is ignored', () => {
  const h = new Harness(tierWith({}));

  const out = h.command({ kind: 'resume' });

  assert.deepEqual(
    ofType(out, 'command.ignored').map((e) => e.reason),
    ['ASSESSMENT_NOT_ACTIVE'],
  );
});

test('abandoning closes everything at the current quotes and ends the assessment for good', () => {
  const h = new Harness(tierWith({}));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  h.tick('ETH-USD', 1_990, 1_991);

  const abandon = h.command({ kind: 'abandon' });
  const again = h.command({ kind: 'abandon' });
  const order = h.buy('ETH-USD', 1);
  h.clock(T0 + 40 * DAY);

  assert.deepEqual(types(abandon), ['order.filled', 'position.closed', 'assessment.abandoned']);
  assert.equal(ofType(abandon, 'assessment.abandoned')[0]?.balance, 99_900);
  assert.equal(ofType(again, 'command.ignored')[0]?.reason, 'ASSESSMENT_NOT_ACTIVE');
  assert.equal(ofType(order, 'order.rejected')[0]?.reason, 'ASSESSMENT_NOT_ACTIVE');
  assert.equal(h.state().status, 'abandoned');
  assert.equal(h.state().dayIndex, 0);
});

test('a position open when the weekend window starts is flattened without failing the assessment', () => {
  const h = new Harness(tierWith({ weekendFlat: { from: { day: 5, time: '21:00' }, to: { day: 0, time: '21:00' }, action: 'flatten' } }));
  h.tick('ETH-USD', 2_000, 2_000);
  h.buy('ETH-USD', 10);
  const fridayEvening = Date.UTC(2024, 0, 5, 21);

  const before = h.clock(fridayEvening - HOUR);
  const at = h.clock(fridayEvening);

  assert.deepEqual(ofType(before, 'order.filled'), []);
  assert.equal(ofType(at, 'rules.violation-detected')[0]?.violation.ruleId, 'weekend-flat');
  assert.deepEqual(
    ofType(at, 'order.filled').map((e) => [e.qty, e.liquidation]),
    [[10, true]],
  );
  assert.equal(h.state().status, 'active');
  assert.deepEqual(h.state().positions, {});
});

test('the trading day rolls at the reset time of the tier time zone, an hour earlier in UTC once DST starts', () => {
  const h = new Harness(
    parseTier({
      id: 'chicago',
      version: 1,
      name: 'Chicago',
      timezone: 'America/Chicago',
      resetTime: '17:00',
      kinds: ['linear'],
      fees: { linear: 0, binary: 0 },
      phases: [{ name: 'challenge', startingBalance: 100_000, rules: {} }],
    }),
    { start: Date.UTC(2024, 2, 8, 12) },
  ); // Friday 8 March 2024; DST starts Sunday 10 March
  const resets = [Date.UTC(2024, 2, 8, 23), Date.UTC(2024, 2, 9, 23), Date.UTC(2024, 2, 10, 22)];

  const rolls = resets.map((r) => [h.clock(r - 1), h.clock(r)] as const);

  assert.deepEqual(
    rolls.map(([before]) => ofType(before, 'assessment.day-started').length),
    [0, 0, 0],
  );
  assert.deepEqual(
    rolls.map(([, at]) => ofType(at, 'assessment.day-started').map((e) => [e.dayIndex, e.at])[0]),
    [
      [1, resets[0]],
      [2, resets[1]],
      [3, resets[2]],
    ],
  );
});
