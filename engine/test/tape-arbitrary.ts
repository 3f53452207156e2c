/**
 * fast-check arbitraries for whole tapes: random tiers (every floor mode, lock,
 * basis and severity, time limits and weekend windows), a handful of
 * assessments, and an interleaving of ticks with jumps, orders of every type,
 * cancels, closes, clock jumps across resets, ticks stamped past the last
 * clock input, and market resolutions.
 */
import fc from 'fast-check';
import type { Command } from '../../actors/index.js';
import type { EngineInput } from '../inputs.js';

const T0 = Date.parse('2026-03-02T07:30:00Z');
const LINEAR = ['BTC-USD', 'ETH-USD', 'SOL-USD'] as const;
const START: Record<string, number> = { 'BTC-USD': 60_000, 'ETH-USD': 3_000, 'SOL-USD': 150 };

const limitArb = (lo: number, hi: number) =>
  fc.oneof(
    fc.integer({ min: lo, max: hi }).map((pct) => ({ pct })),
    fc.integer({ min: lo * 100, max: hi * 100 }).map((amount) => ({ amount })),
  );

/** A random but valid tier over linear and binary instruments. */
export const tierArb = (id: string) =>
  fc
    .record({
      daily: fc.option(
        fc.record({
          limit: limitArb(1, 4),
          basis: fc.constantFrom('balance', 'balance-or-equity'),
          severity: fc.constantFrom('hard', 'soft'),
        }),
        { nil: undefined },
      ),
      max: fc.option(
        fc.record({
          limit: limitArb(2, 7),
          mode: fc.constantFrom('static', 'eod-trailing', 'intraday-trailing'),
          lock: fc.constantFrom('none', 'start', { startPlus: 500 }),
        }),
        { nil: undefined },
      ),
      target: fc.option(fc.record({ target: limitArb(1, 5), basis: fc.constantFrom('balance', 'equity') }), { nil: undefined }),
      minDays: fc.option(fc.integer({ min: 1, max: 3 }), { nil: undefined }),
      consistency: fc.option(fc.constantFrom(0.4, 0.5, 0.8), { nil: undefined }),
      risk: fc.option(fc.record({ maxPct: fc.integer({ min: 2, max: 30 }), requireStopLoss: fc.boolean() }), { nil: undefined, freq: 4 }),
      maxQty: fc.option(fc.integer({ min: 5, max: 400 }), { nil: undefined, freq: 4 }),
      inactivity: rarely(fc.integer({ min: 1, max: 4 })),
      maxDays: rarely(fc.integer({ min: 2, max: 9 })),
      weekend: rarely(
        fc.record({
          from: fc.record({ day: fc.constantFrom(5, 6), time: fc.constantFrom('16:00', '21:00', '23:30') }),
          to: fc.record({ day: fc.constantFrom(0, 1), time: fc.constantFrom('00:00', '21:00') }),
          action: fc.constantFrom('flatten', 'breach'),
        }),
      ),
      twoPhases: fc.boolean(),
      leverage: fc.constantFrom(5, 20, 50),
      reset: fc.constantFrom('00:00', '17:00', '22:30'),
      tz: fc.constantFrom('UTC', 'Europe/Prague', 'America/Chicago'),
      balance: fc.constantFrom(10_000, 50_000, 100_000),
    })
    .map((p) => {
      const rules: Record<string, unknown> = {};
      if (p.daily) rules['dailyLoss'] = p.daily;
      if (p.max) rules['maxLoss'] = p.max;
      if (p.target) rules['profitTarget'] = p.target;
      if (p.minDays) rules['minTradingDays'] = { days: p.minDays };
      if (p.consistency) rules['consistency'] = { maxBestDayShare: p.consistency };
      if (p.risk) rules['riskPerTrade'] = p.risk;
      if (p.maxQty) rules['positionLimits'] = { maxQty: { '*': p.maxQty } };
      if (p.inactivity) rules['inactivity'] = { days: p.inactivity };
      if (p.weekend) rules['weekendFlat'] = p.weekend;
      const phase = (name: string) => ({ name, startingBalance: p.balance, rules, ...(p.maxDays ? { maxDays: p.maxDays } : {}) });
      return {
        id,
        version: 1,
        name: id,
        timezone: p.tz,
        resetTime: p.reset,
        kinds: ['linear', 'binary'],
        leverage: p.leverage,
        fees: { linear: 0.0005, binary: 0.001 },
        phases: p.twoPhases ? [phase('challenge'), phase('verification')] : [phase('challenge')],
      };
    });

/** Present in about one case of four. */
function rarely<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.oneof({ weight: 3, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: arb });
}

type Step =
  | { k: 'tick'; sym: number; move: number; spreadBps: number; size: number | null }
  | { k: 'wait'; ms: number }
  | { k: 'bin'; move: number }
  | { k: 'clock'; minutes: number }
  | { k: 'cmd'; who: number; cmd: CmdSpec }
  | { k: 'resolve'; yes: boolean };

type CmdSpec =
  | {
      kind: 'place';
      sym: number;
      side: 'buy' | 'sell';
      type: 'market' | 'limit' | 'stop';
      qtyFrac: number;
      off: number;
      sl: number | null;
      tp: number | null;
      reduce: boolean;
      day: boolean;
    }
  | { kind: 'cancel'; order: number }
  | { kind: 'modify'; order: number; qtyFrac: number }
  | { kind: 'close'; sym: number }
  | { kind: 'flatten' }
  | { kind: 'pause' }
  | { kind: 'resume' };

const cmdArb: fc.Arbitrary<CmdSpec> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record({
      kind: fc.constant('place' as const),
      sym: fc.integer({ min: 0, max: 3 }),
      side: fc.constantFrom('buy' as const, 'sell' as const),
      type: fc.constantFrom('market' as const, 'limit' as const, 'stop' as const),
      qtyFrac: fc.double({ min: 0.05, max: 6, noNaN: true }),
      off: fc.double({ min: -0.03, max: 0.03, noNaN: true }),
      sl: fc.option(fc.double({ min: 0.002, max: 0.05, noNaN: true }), { nil: null, freq: 3 }),
      tp: fc.option(fc.double({ min: 0.002, max: 0.08, noNaN: true }), { nil: null }),
      reduce: fc.integer({ min: 0, max: 6 }).map((n) => n === 0),
      day: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('cancel' as const), order: fc.integer({ min: 1, max: 8 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('modify' as const),
      order: fc.integer({ min: 1, max: 8 }),
      qtyFrac: fc.double({ min: 0.05, max: 3, noNaN: true }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('close' as const), sym: fc.integer({ min: 0, max: 3 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'flatten' as const }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: 9 }).map((n) => (n === 0 ? { kind: 'pause' as const } : { kind: 'resume' as const })) },
);

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    weight: 24,
    arbitrary: fc.record({
      k: fc.constant('tick' as const),
      sym: fc.integer({ min: 0, max: 2 }),
      // Mostly small moves, sometimes jumps of several percent: gaps are where a lax index would miss.
      move: fc.oneof(
        { weight: 5, arbitrary: fc.double({ min: -0.008, max: 0.008, noNaN: true }) },
        { weight: 1, arbitrary: fc.double({ min: -0.08, max: 0.08, noNaN: true }) },
      ),
      spreadBps: fc.integer({ min: 0, max: 20 }),
      size: fc.option(fc.double({ min: 0.1, max: 5, noNaN: true }), { nil: null }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('bin' as const), move: fc.double({ min: -0.15, max: 0.15, noNaN: true }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('clock' as const),
      minutes: fc.oneof(fc.integer({ min: 1, max: 180 }), fc.integer({ min: 600, max: 3_000 })),
    }),
  },
  // Time passes with no clock input: the next tick's own stamp moves the engine's time (sometimes past a reset).
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('wait' as const),
      ms: fc.oneof(fc.integer({ min: 1, max: 59_999 }), fc.integer({ min: 60_000, max: 6 * 3_600_000 })),
    }),
  },
  { weight: 8, arbitrary: fc.record({ k: fc.constant('cmd' as const), who: fc.integer({ min: 0, max: 7 }), cmd: cmdArb }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('resolve' as const), yes: fc.boolean() }) },
);

/** A whole tape: tiers, 2–8 assessments, then up to `maxSteps` interleaved inputs. */
export const tapeArb = (maxSteps = 350) =>
  fc
    .record({
      tiers: fc.array(fc.nat(), { minLength: 1, maxLength: 3 }).chain((xs) => fc.tuple(...xs.map((_, i) => tierArb(`gen-${i}`)))),
      assessments: fc.integer({ min: 2, max: 5 }),
      tierPick: fc.array(fc.nat(), { minLength: 8, maxLength: 8 }),
      steps: fc.array(stepArb, { minLength: Math.floor(maxSteps / 3), maxLength: maxSteps, size: 'max' }),
      trend: fc.tuple(...LINEAR.map(() => fc.double({ min: -0.004, max: 0.004, noNaN: true }))),
    })
    .map(({ tiers, assessments, tierPick, steps, trend }) => buildTape(tiers, assessments, tierPick, steps, trend));

function buildTape(tiers: unknown[], count: number, tierPick: number[], steps: Step[], trend: number[]): EngineInput[] {
  const out: EngineInput[] = [];
  let now = T0;
  let seq = 0;
  const mid: Record<string, number> = { ...START };
  let yes = 0.5;
  let resolved = false;
  out.push({ type: 'clock', time: now });
  for (const tier of tiers) out.push({ type: 'tier', tier });
  const tick = (symbol: string, m: number, spread: number, size: number | null) => {
    const half = Math.max(m * spread, symbol.startsWith('PM:') ? 0.005 : 0.01) / 2;
    const bid = round(m - half, symbol);
    const ask = Math.max(round(m + half, symbol), bid);
    out.push({ type: 'tick', seq: ++seq, ts: now, symbol, bid, ask, ...(size === null ? {} : { bidSize: size, askSize: size }) });
  };
  for (const s of LINEAR) tick(s, mid[s]!, 0.0002, null);
  tick('PM:FED-DEC-CUT:YES', yes, 0.02, null);
  tick('PM:FED-DEC-CUT:NO', 1 - yes, 0.02, null);
  for (let a = 0; a < count; a++) {
    out.push({ type: 'create', assessmentId: `a${a}`, traderId: `t${a}`, tierId: `gen-${tierPick[a]! % tiers.length}` });
  }
  let cid = 0;
  for (const step of steps) {
    if (step.k === 'tick') {
      const s = LINEAR[step.sym]!;
      mid[s] = mid[s]! * (1 + step.move + trend[step.sym]!);
      tick(s, mid[s]!, step.spreadBps / 10_000, step.size === null ? null : (step.size * (60_000 / START[s]!)) / 10);
    } else if (step.k === 'bin') {
      if (resolved) continue;
      yes = Math.min(0.97, Math.max(0.03, yes + step.move));
      tick('PM:FED-DEC-CUT:YES', yes, 0.02, null);
      tick('PM:FED-DEC-CUT:NO', 1 - yes, 0.02, null);
    } else if (step.k === 'wait') {
      now += step.ms;
    } else if (step.k === 'clock') {
      now += step.minutes * 60_000;
      out.push({ type: 'clock', time: now });
    } else if (step.k === 'resolve') {
      if (resolved) continue;
      resolved = true;
      out.push({ type: 'resolution', seq: ++seq, ts: now, market: 'PM:FED-DEC-CUT', outcome: step.yes ? 'YES' : 'NO' });
    } else {
      out.push({ type: 'command', assessmentId: `a${step.who % count}`, command: toCommand(step.cmd, `c${++cid}`, mid, yes) });
    }
  }
  return out;
}

function toCommand(c: CmdSpec, clientOrderId: string, mid: Record<string, number>, yes: number): Command {
  const symbol = c.kind === 'place' || c.kind === 'close' ? (c.sym === 3 ? 'PM:FED-DEC-CUT:YES' : LINEAR[c.sym]!) : '';
  switch (c.kind) {
    case 'place': {
      const px = c.sym === 3 ? yes : mid[symbol]!;
      const qty = c.sym === 3 ? Math.max(1, Math.round(c.qtyFrac * 1_500)) : round6((c.qtyFrac * 60_000) / px);
      const at = (f: number) =>
        c.sym === 3 ? Math.min(0.99, Math.max(0.01, round(px * (1 + f * 5), 'PM:'))) : round(px * (1 + f), symbol);
      const dir = c.side === 'buy' ? 1 : -1;
      return {
        kind: 'place',
        clientOrderId,
        symbol,
        side: c.side,
        type: c.type,
        qty,
        ...(c.type === 'limit' ? { limitPrice: at(c.off) } : {}),
        ...(c.type === 'stop' ? { stopPrice: at(c.off) } : {}),
        ...(c.sl === null ? {} : { stopLoss: at(-dir * c.sl - Math.abs(c.off)) }),
        ...(c.tp === null ? {} : { takeProfit: at(dir * c.tp + Math.abs(c.off)) }),
        ...(c.reduce ? { reduceOnly: true } : {}),
        ...(c.day ? { tif: 'day' as const } : {}),
      };
    }
    case 'cancel':
      return { kind: 'cancel', orderId: `o${c.order}` };
    case 'modify':
      return { kind: 'modify', orderId: `o${c.order}`, qty: round6(c.qtyFrac) };
    case 'close':
      return { kind: 'close-position', symbol, clientOrderId };
    default:
      return c;
  }
}

function round(x: number, symbol: string): number {
  return symbol.startsWith('PM:') ? Math.round(x * 1000) / 1000 : Math.round(x * 100) / 100;
}

function round6(x: number): number {
  return Math.max(0.001, Math.round(x * 1e6) / 1e6);
}

/** The time an input carries, if any: a clock's `time`, a tick's or resolution's `ts`. */
export function stampOf(input: EngineInput): number | undefined {
  return input.type === 'clock' ? input.time : input.type === 'tick' || input.type === 'resolution' ? input.ts : undefined;
}

/**
 * The same tape with a clock beat every `everyMs` of engine time: before each
 * time-stamped input, beats at every multiple of `everyMs` the input's stamp
 * passes. Commands keep their time (beats go only right before a stamped input).
 */
export function withClockEvery(inputs: readonly EngineInput[], everyMs: number): EngineInput[] {
  const out: EngineInput[] = [];
  let now = -Infinity;
  for (const input of inputs) {
    const t = stampOf(input);
    if (t !== undefined && t > now) {
      if (now > 0)
        for (let beat = (Math.floor(now / everyMs) + 1) * everyMs; beat < t; beat += everyMs) out.push({ type: 'clock', time: beat });
      now = t;
    }
    out.push(input);
  }
  return out;
}

/**
 * The same tape with clock inputs dropped where `drop(k)` says so (k counts
 * the clock inputs), except a clock that dates a later command or create (no
 * stamped input as late comes before the command) and one no later stamp
 * reaches: dropping those would move a command in time, or end the tape
 * earlier, not only change the clock cadence.
 */
export function thinClock(inputs: readonly EngineInput[], drop: (k: number) => boolean): EngineInput[] {
  const out: EngineInput[] = [];
  let k = 0;
  let now = -Infinity;
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    const t = stampOf(input);
    if (input.type === 'clock' && input.time > now && drop(k++) && !datesACommand(inputs, i, input.time)) continue;
    if (t !== undefined && t > now) now = t;
    out.push(input);
  }
  return out;
}

/** Whether the clock at `from` dates a later command or create, or is the last word on time in the tape. */
function datesACommand(inputs: readonly EngineInput[], from: number, time: number): boolean {
  for (let j = from + 1; j < inputs.length; j++) {
    const next = inputs[j]!;
    if (next.type === 'command' || next.type === 'create') return true;
    const t = stampOf(next);
    if (t !== undefined && t >= time) return false;
  }
  return true;
}
