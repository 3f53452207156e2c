/**
 * The example tapes in tapes/ tell stories a trader knows. Each test replays
 * one tape through a shard kernel and checks the story's key events against
 * numbers worked out by hand from the tape (see the comments there too).
 */
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { EngineInput, OutputEvent, SequencedInput } from '../inputs.js';
import { ShardKernel, type IndexMode } from '../shard-kernel.js';
import { readTape } from '../tape.js';

const TAPES = fileURLToPath(new URL('../../tapes/', import.meta.url));

type EventType = OutputEvent['type'];
type Of<T extends EventType> = Extract<OutputEvent, { type: T }>;

interface Run {
  readonly inputs: SequencedInput[];
  readonly events: OutputEvent[];
  readonly kernel: ShardKernel;
}

/** Replay a tape: apply each input, then take the events it caused. */
function replay(file: string, mode: IndexMode = 'indexed'): Run {
  const inputs = readTape(TAPES + file);
  const kernel = new ShardKernel({ mode });
  const events: OutputEvent[] = [];
  for (const input of inputs) {
    kernel.apply(input);
    events.push(...kernel.drainEvents());
  }
  return { inputs, events, kernel };
}

function all<T extends EventType>(events: readonly OutputEvent[], type: T): Of<T>[] {
  return events.filter((e): e is Of<T> => e.type === type);
}

function only<T extends EventType>(events: readonly OutputEvent[], type: T): Of<T> {
  const found = all(events, type);
  assert.equal(found.length, 1, `expected exactly one ${type}, got ${found.length}`);
  return found[0]!;
}

/** Position (index) of the first tape input that matches. */
function inputIndex(run: Run, match: (input: EngineInput) => boolean): number {
  const found = run.inputs.find((si) => match(si.input));
  assert.ok(found !== undefined, 'no such input on the tape');
  return found.i;
}

function clockAt(run: Run, iso: string): number {
  const time = Date.parse(iso);
  return inputIndex(run, (inp) => inp.type === 'clock' && inp.time === time);
}

function tickSeq(run: Run, seq: number): number {
  return inputIndex(run, (inp) => inp.type === 'tick' && inp.seq === seq);
}

function commandFor(run: Run, clientOrderId: string): number {
  return inputIndex(run, (inp) => inp.type === 'command' && 'clientOrderId' in inp.command && inp.command.clientOrderId === clientOrderId);
}

function causedBy(events: readonly OutputEvent[], input: number): OutputEvent[] {
  return events.filter((e) => e.input === input);
}

function fillOf(events: readonly OutputEvent[], clientOrderId: string): Of<'order.filled'> {
  const fills = all(events, 'order.filled').filter((f) => f.clientOrderId === clientOrderId);
  assert.equal(fills.length, 1, `expected one fill of ${clientOrderId}, got ${fills.length}`);
  return fills[0]!;
}

test('an overnight position breaches the daily loss at the reset', () => {
  const run = replay('overnight-daily-breach.jsonl');
  const { events } = run;
  const reset = Date.parse('2025-03-11T00:00:00+01:00'); // midnight Prague = 2025-03-10T23:00:00Z

  // Day 0 floor: 100,000 − 5% × 100,000 = 95,000; static max-loss floor 100,000 − 10,000 = 90,000.
  const started = only(events, 'assessment.started');
  assert.equal(started.dailyFloor, 95_000);
  assert.equal(started.maxLossFloor, 90_000);

  // Morning: buy 1 at the ask 50,000, sell at the bid 53,000 → +3,000, balance 103,000.
  assert.equal(fillOf(events, 'morning-buy').price, 50_000);
  assert.equal(fillOf(events, 'morning-close').price, 53_000);
  assert.equal(all(events, 'position.closed')[0]!.realizedPnl, 3_000);
  // Overnight: 2 BTC at the ask 50,000.
  const overnight = fillOf(events, 'overnight-buy');
  assert.deepEqual([overnight.qty, overnight.price], [2, 50_000]);

  // Bid 47,000: equity 103,000 + (47,000 − 50,000) × 2 = 97,000 ≥ 95,000, so neither the
  // sell-off nor the clock a minute before midnight produces any event.
  assert.deepEqual(causedBy(events, tickSeq(run, 4)), []);
  assert.deepEqual(causedBy(events, clockAt(run, '2025-03-10T23:59:00+01:00')), []);

  // At the reset the floor is rebuilt from the day-end balance: 103,000 − 5,000 = 98,000.
  const atReset = causedBy(events, clockAt(run, '2025-03-11T00:00:00+01:00'));
  assert.deepEqual(
    atReset.map((e) => e.type),
    ['assessment.day-started', 'rules.violation-detected', 'order.filled', 'position.closed', 'assessment.failed'],
  );
  const day = only(atReset, 'assessment.day-started');
  assert.deepEqual(
    {
      dayIndex: day.dayIndex,
      balance: day.balance,
      equity: day.equity,
      dailyFloor: day.dailyFloor,
      maxLossFloor: day.maxLossFloor,
      at: day.at,
    },
    { dayIndex: 1, balance: 103_000, equity: 97_000, dailyFloor: 98_000, maxLossFloor: 90_000, at: reset },
  );

  // Equity 97,000 < 98,000: a hard daily-loss breach caused by the clock at the reset itself.
  const { violation } = only(events, 'rules.violation-detected');
  assert.equal(violation.ruleId, 'daily-loss');
  assert.equal(violation.severity, 'hard');
  assert.deepEqual(violation.cause, { kind: 'clock', time: reset });
  assert.equal(violation.at, reset);
  assert.equal(violation.equity, 97_000);
  assert.equal(violation.balance, 103_000);
  assert.equal(violation.limit, 98_000);
  assert.equal(violation.value, 97_000);
  assert.deepEqual(violation.positions, [{ symbol: 'BTC-USD', qty: 2, avgEntry: 50_000, mark: 47_000, unrealizedPnl: -6_000 }]);

  // Liquidation of 2 BTC at the last bid 47,000 (tick 4): −6,000, balance 97,000.
  const liquidation = only(atReset, 'order.filled');
  assert.deepEqual(
    {
      side: liquidation.side,
      qty: liquidation.qty,
      price: liquidation.price,
      liquidation: liquidation.liquidation,
      tickSeq: liquidation.tickSeq,
    },
    { side: 'sell', qty: 2, price: 47_000, liquidation: true, tickSeq: 4 },
  );
  assert.equal(only(atReset, 'position.closed').realizedPnl, -6_000);
  const failed = only(events, 'assessment.failed');
  assert.deepEqual([failed.ruleId, failed.balance], ['daily-loss', 97_000]);

  // A failed account ignores later prices.
  assert.deepEqual(causedBy(events, tickSeq(run, 5)), []);
  const state = run.kernel.state('acc-overnight')!;
  assert.equal(state.status, 'failed');
  assert.equal(state.balance, 97_000);
  assert.deepEqual(state.positions, {});
});

test('an end-of-day trailing floor rises with profits, locks at the starting balance, and fails exactly there', () => {
  const run = replay('trailing-lock.jsonl');
  const { events } = run;

  // Start: 50,000 − 2,500 = 47,500.
  assert.equal(only(events, 'assessment.started').maxLossFloor, 47_500);

  // Day-end balances 51,000, 53,000, 54,000 → floors min(high − 2,500, 50,000):
  //   48,500; min(50,500, 50,000) = 50,000 (locked); locked, still 50,000 (not 51,500).
  const days = all(events, 'assessment.day-started');
  assert.deepEqual(
    days.map((d) => d.balance),
    [51_000, 53_000, 54_000],
  );
  assert.deepEqual(
    days.map((d) => d.maxLossFloor),
    [48_500, 50_000, 50_000],
  );
  assert.deepEqual(
    days.map((d) => d.at),
    [Date.parse('2025-06-02T17:00:00-04:00'), Date.parse('2025-06-03T17:00:00-04:00'), Date.parse('2025-06-04T17:00:00-04:00')],
  );
  assert.deepEqual(
    all(events, 'position.closed')
      .slice(0, 3)
      .map((c) => c.realizedPnl),
    [1_000, 2_000, 1_000],
  );

  // Day 3: 2 BTC at the ask 60,000. Bid 58,000 puts equity at 54,000 − 2 × 2,000 = 50,000,
  // exactly the floor: allowed, no event.
  assert.equal(fillOf(events, 'thu-buy').price, 60_000);
  assert.deepEqual(causedBy(events, tickSeq(run, 8)), []);

  // Bid 57,995: equity 54,000 + (57,995 − 60,000) × 2 = 49,990 < 50,000.
  const { violation } = only(events, 'rules.violation-detected');
  assert.equal(violation.ruleId, 'max-loss');
  assert.equal(violation.severity, 'hard');
  assert.deepEqual(violation.cause, {
    kind: 'tick',
    seq: 9,
    ts: Date.parse('2025-06-05T11:00:05-04:00'),
    symbol: 'BTC-USD',
    bid: 57_995,
    ask: 58_005,
  });
  assert.equal(violation.at, Date.parse('2025-06-05T11:00:05-04:00')); // the engine's time: the tick moved it past the last clock input
  assert.equal(violation.limit, 50_000);
  assert.equal(violation.value, 49_990);
  assert.equal(violation.equity, 49_990);
  assert.equal(violation.balance, 54_000);

  // Liquidation at 57,995: (57,995 − 60,000) × 2 = −4,010 → balance 49,990.
  const liquidation = all(events, 'order.filled').find((f) => f.liquidation)!;
  assert.deepEqual([liquidation.qty, liquidation.price, liquidation.tickSeq], [2, 57_995, 9]);
  const failed = only(events, 'assessment.failed');
  assert.deepEqual([failed.ruleId, failed.balance], ['max-loss', 49_990]);

  const state = run.kernel.state('acc-trail')!;
  assert.equal(state.status, 'failed');
  assert.deepEqual(state.rules, { dailyFloor: -Infinity, maxLossFloor: 50_000, highWater: 54_000, floorLocked: true });
});

test("a bracket's stop-loss fills before its take-profit and the target is cancelled as its OCO sibling", () => {
  const run = replay('bracket-stop-first.jsonl');
  const { events } = run;

  // Entry at the ask 60,010; risk to the stop (60,010 − 59,000) × 1 = 1,010 ≤ 2% × 100,000.
  const entry = fillOf(events, 'entry-1');
  assert.deepEqual([entry.orderId, entry.price, entry.qty], ['o1', 60_010, 1]);

  // Two reduce-only children of o1: the stop (o2) and the target (o3).
  const children = all(events, 'order.accepted')
    .map((e) => e.order)
    .filter((o) => o.parentId === 'o1');
  assert.deepEqual(
    children.map((o) => ({
      id: o.id,
      clientOrderId: o.clientOrderId,
      role: o.role,
      side: o.side,
      type: o.type,
      qty: o.qty,
      stopPrice: o.stopPrice,
      limitPrice: o.limitPrice,
      reduceOnly: o.reduceOnly,
    })),
    [
      {
        id: 'o2',
        clientOrderId: 'entry-1:sl',
        role: 'stop-loss',
        side: 'sell',
        type: 'stop',
        qty: 1,
        stopPrice: 59_000,
        limitPrice: undefined,
        reduceOnly: true,
      },
      {
        id: 'o3',
        clientOrderId: 'entry-1:tp',
        role: 'take-profit',
        side: 'sell',
        type: 'limit',
        qty: 1,
        stopPrice: undefined,
        limitPrice: 62_000,
        reduceOnly: true,
      },
    ],
  );

  // Bid 61,990 (short of 62,000) and bid 59,001 (above 59,000): nothing fills.
  assert.deepEqual(causedBy(events, tickSeq(run, 2)), []);
  assert.deepEqual(causedBy(events, tickSeq(run, 3)), []);

  // Gap to bid 58,950: the stop triggers and fills at that bid; the target goes as OCO sibling.
  const gap = causedBy(events, tickSeq(run, 4));
  assert.deepEqual(
    gap.map((e) => e.type),
    ['order.triggered', 'order.filled', 'position.closed', 'order.cancelled'],
  );
  assert.equal(only(gap, 'order.triggered').orderId, 'o2');
  assert.equal(only(gap, 'order.triggered').price, 58_950);
  const stop = only(gap, 'order.filled');
  assert.deepEqual(
    {
      orderId: stop.orderId,
      clientOrderId: stop.clientOrderId,
      side: stop.side,
      qty: stop.qty,
      price: stop.price,
      tickSeq: stop.tickSeq,
      liquidation: stop.liquidation,
    },
    { orderId: 'o2', clientOrderId: 'entry-1:sl', side: 'sell', qty: 1, price: 58_950, tickSeq: 4, liquidation: false },
  );
  // (58,950 − 60,010) × 1 = −1,060.
  assert.equal(only(gap, 'position.closed').realizedPnl, -1_060);
  const cancelled = only(gap, 'order.cancelled');
  assert.deepEqual([cancelled.orderId, cancelled.reason], ['o3', 'OCO_SIBLING_FILLED']);

  // BTC later trades through the old target at 62,500: no order is left to fill.
  assert.deepEqual(causedBy(events, tickSeq(run, 5)), []);
  assert.equal(all(events, 'order.filled').length, 2);
  assert.deepEqual(all(events, 'rules.violation-detected'), []);

  const state = run.kernel.state('acc-bracket')!;
  assert.equal(state.status, 'active');
  assert.equal(state.balance, 98_940); // 100,000 − 1,060
  assert.deepEqual(state.orders, {});
  assert.deepEqual(state.positions, {});
});

test('a prediction-market position settles at 1 for the winning outcome and 0 for the other', () => {
  const run = replay('prediction-settlement.jsonl');
  const { events } = run;

  // 1,000 YES at the ask 0.40 and 200 NO at the ask 0.62; the YES bid at 0.30 rests as o3.
  assert.deepEqual([fillOf(events, 'yes-1').qty, fillOf(events, 'yes-1').price], [1_000, 0.4]);
  assert.deepEqual([fillOf(events, 'no-1').qty, fillOf(events, 'no-1').price], [200, 0.62]);
  assert.equal(all(events, 'order.accepted').find((e) => e.order.clientOrderId === 'yes-dip')!.order.id, 'o3');

  // Daily floors on the higher of balance and equity, minus 8% × 10,000 = 800:
  //   day 1: equity 10,000 − 0.02 × 1,000 − 0.02 × 200 = 9,976 → max(10,000, 9,976) − 800 = 9,200
  //   day 2: equity 10,000 + 0.44 × 1,000 − 0.48 × 200 = 10,344 → 10,344 − 800 = 9,544
  const days = all(events, 'assessment.day-started');
  assert.deepEqual(
    days.map((d) => d.equity),
    [9_976, 10_344],
  );
  assert.deepEqual(
    days.map((d) => d.dailyFloor),
    [9_200, 9_544],
  );

  // Trading closes at 01:00 (closesAt): the resting YES bid is cancelled at that clock input.
  const close = causedBy(events, clockAt(run, '2026-11-04T01:00:00Z'));
  const cancelled = only(close, 'order.cancelled');
  assert.deepEqual([cancelled.orderId, cancelled.reason], ['o3', 'MARKET_CLOSED']);
  assert.equal(cancelled.at, Date.parse('2026-11-04T01:00:00Z'));

  // Resolution YES: YES pays 1, NO pays 0.
  const resolution = inputIndex(run, (inp) => inp.type === 'resolution');
  const settled = causedBy(events, resolution);
  assert.deepEqual(
    settled.map((e) => e.type),
    ['position.settled', 'position.settled'],
  );
  assert.deepEqual(
    all(settled, 'position.settled').map((s) => ({ symbol: s.symbol, qty: s.qty, payout: s.payout, realizedPnl: s.realizedPnl })),
    [
      { symbol: 'PM:ELECTION:YES', qty: 1_000, payout: 1, realizedPnl: 600 }, // 1,000 × (1 − 0.40)
      { symbol: 'PM:ELECTION:NO', qty: 200, payout: 0, realizedPnl: -124 }, // 200 × (0 − 0.62)
    ],
  );

  // An order on the resolved market is refused.
  const late = only(causedBy(events, commandFor(run, 'yes-late')), 'order.rejected');
  assert.equal(late.reason, 'MARKET_RESOLVED');

  // 10,000 + 600 − 124 = 10,476, flat, still active (target 12,000 not reached).
  const state = run.kernel.state('acc-election')!;
  assert.equal(state.balance, 10_476);
  assert.deepEqual(state.positions, {});
  assert.deepEqual(state.orders, {});
  assert.equal(state.status, 'active');
  assert.deepEqual(all(events, 'rules.violation-detected'), []);
});

test('the profit target is met on day one but the pass waits for the third trading day and a flat account', () => {
  const run = replay('pass-after-min-days.jsonl');
  const { events } = run;

  // Day 0: (99,250 − 94,000) × 2 = +10,500 → balance 110,500 ≥ 110,000, 1 of 3 days.
  const mondayClose = causedBy(events, commandFor(run, 'mon-close'));
  assert.equal(only(mondayClose, 'position.closed').realizedPnl, 10_500);
  // Reported each time the target is reached again while blocked: after Monday's and Tuesday's closes.
  const blocked = all(events, 'assessment.pass-blocked');
  assert.deepEqual(
    blocked.map((b) => [b.input, b.ruleId, b.detail]),
    [
      [commandFor(run, 'mon-close'), 'min-trading-days', '1 of 3 trading days'],
      [commandFor(run, 'tue-close'), 'min-trading-days', '2 of 3 trading days'],
    ],
  );

  // Day 1: 99,010 → 99,110 = +100 → 110,600, 2 of 3 days: still no pass.
  assert.equal(fillOf(events, 'tue-buy').price, 99_010);
  assert.equal(fillOf(events, 'tue-close').price, 99_110);
  const days = all(events, 'assessment.day-started');
  assert.deepEqual(
    days.map((d) => [d.dayIndex, d.balance]),
    [
      [1, 110_500],
      [2, 110_600],
    ],
  );

  // Day 2: the buy at 99,510 makes it 3 of 3 days, but a balance target needs the account flat.
  const wednesday = causedBy(events, commandFor(run, 'wed-buy'));
  assert.deepEqual(
    wednesday.map((e) => e.type),
    ['order.accepted', 'order.filled', 'position.opened'],
  );
  assert.equal(fillOf(events, 'wed-buy').price, 99_510);
  // Closing at the bid 99,500 (−10): 110,600 − 10 = 110,590, flat, 3 of 3 days → passed on that command.
  const close = causedBy(events, commandFor(run, 'wed-close'));
  assert.deepEqual(
    close.map((e) => e.type),
    ['order.accepted', 'order.filled', 'position.closed', 'assessment.passed'],
  );
  assert.equal(only(close, 'position.closed').realizedPnl, -10);
  const passed = only(events, 'assessment.passed');
  assert.deepEqual([passed.phase, passed.balance, passed.at], ['challenge', 110_590, Date.parse('2025-05-07T09:00:00Z')]);

  const state = run.kernel.state('acc-mindays')!;
  assert.equal(state.status, 'passed');
  assert.deepEqual(state.tradingDays, [0, 1, 2]);
  assert.deepEqual(state.positions, {});
});

test('a soft daily-loss breach flattens and locks trading until the next reset, then trading resumes', () => {
  const run = replay('soft-breach-lockout.jsonl');
  const { events } = run;
  const reset = Date.parse('2025-09-09T17:00:00-05:00'); // 22:00Z

  // Bid 59,200: equity 50,000 − 810 = 49,190 ≥ 49,000: nothing.
  assert.deepEqual(causedBy(events, tickSeq(run, 2)), []);

  // Bid 58,990: equity 50,000 + (58,990 − 60,010) = 48,980 < 49,000 → soft breach on tick 3.
  const { violation } = only(events, 'rules.violation-detected');
  assert.equal(violation.ruleId, 'daily-loss');
  assert.equal(violation.severity, 'soft');
  assert.deepEqual(violation.cause, {
    kind: 'tick',
    seq: 3,
    ts: Date.parse('2025-09-09T09:15:30-05:00'),
    symbol: 'BTC-USD',
    bid: 58_990,
    ask: 59_000,
  });
  assert.equal(violation.equity, 48_980);
  assert.equal(violation.limit, 49_000);
  assert.equal(violation.value, 48_980);

  const breach = causedBy(events, tickSeq(run, 3));
  assert.deepEqual(
    breach.map((e) => e.type),
    ['rules.violation-detected', 'order.filled', 'position.closed', 'assessment.trading-locked'],
  );
  const liquidation = only(breach, 'order.filled');
  assert.deepEqual([liquidation.price, liquidation.liquidation], [58_990, true]);
  assert.equal(only(breach, 'position.closed').realizedPnl, -1_020);
  const locked = only(breach, 'assessment.trading-locked');
  assert.deepEqual([locked.ruleId, locked.until], ['daily-loss', reset]);
  assert.deepEqual(all(events, 'assessment.failed'), []);

  // While locked, new orders are refused, and nothing happens a minute before the reset.
  const dip = only(causedBy(events, commandFor(run, 'tue-dip')), 'order.rejected');
  assert.equal(dip.reason, 'TRADING_LOCKED');
  assert.deepEqual(causedBy(events, clockAt(run, '2025-09-09T16:59:00-05:00')), []);

  // 17:00 Chicago: unlocked, and the new day's floor is 48,980 − 1,000 = 47,980.
  const atReset = causedBy(events, clockAt(run, '2025-09-09T17:00:00-05:00'));
  assert.deepEqual(
    atReset.map((e) => e.type),
    ['assessment.trading-unlocked', 'assessment.day-started'],
  );
  const day = only(atReset, 'assessment.day-started');
  assert.deepEqual([day.dayIndex, day.balance, day.dailyFloor, day.maxLossFloor, day.at], [1, 48_980, 47_980, 47_500, reset]);

  // Trading resumes: 58,110 → 58,610 = +500 → 49,480.
  assert.equal(fillOf(events, 'tue-evening-buy').price, 58_110);
  assert.equal(fillOf(events, 'tue-evening-close').price, 58_610);
  const state = run.kernel.state('acc-soft')!;
  assert.equal(state.status, 'active');
  assert.equal(state.lockedBy, undefined);
  assert.equal(state.balance, 49_480);
  assert.equal(state.violations.length, 1);
});

test('every example tape gives the same events with the price index as with a full scan', () => {
  const files = readdirSync(TAPES)
    .filter((f) => f.endsWith('.jsonl'))
    .sort();
  assert.ok(files.length >= 6, `expected the six example tapes, found ${files.join(', ')}`);
  for (const file of files) {
    assert.deepStrictEqual(replay(file, 'indexed').events, replay(file, 'full-scan').events, file);
  }
});
