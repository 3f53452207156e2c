/**
 * Where paths come from: a file of closed trades, or a live assessment. Both
 * reduce to per-trade returns (P&L over the balance it was sized on) and the
 * count of trades on each trading day, quiet days included; a live
 * assessment also gives the state its paths start from.
 */
import { DateTime } from 'luxon';
import { z } from 'zod';
import { DAY_MS, type AssessmentState, type Tier } from '../../actors/index.js';
import type { StartState } from './simulation-spec.js';

/** One closed trade from a history file. */
export const TradeRecord = z
  .object({
    /** Close time: ISO 8601 or milliseconds since the epoch. */
    closedAt: z.union([z.string(), z.number()]),
    /** Realized P&L in account currency, fees included. */
    pnl: z.number().finite(),
    /** Balance before the trade; without it, P&L is taken over the account size. */
    balance: z.number().positive().optional(),
  })
  .strict();
export type TradeRecord = z.infer<typeof TradeRecord>;

/** A history file that cannot be used; the message says which line or field. */
export class InvalidHistoryError extends Error {
  readonly code = 'INVALID_HISTORY';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidHistoryError';
  }
}

/** What a bootstrap needs from a history. */
export interface History {
  readonly returns: number[];
  readonly tradesPerDay: number[];
  readonly trades: number;
  readonly days: number;
}

/**
 * Parse a trade file: JSON (an array of trades, or `{ trades: [...] }`) or
 * CSV with a header naming `closedAt` (or `time`), `pnl`, and optionally
 * `balance`.
 */
export function parseTrades(text: string, name = 'trades'): TradeRecord[] {
  const trimmed = text.trimStart();
  let rows: unknown[];
  if (trimmed.startsWith('[') || trimmed.startsWith('{')) {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new InvalidHistoryError(`${name}: not valid JSON (${(err as Error).message})`);
    }
    rows = Array.isArray(data) ? data : ((data as { trades?: unknown }).trades as unknown[]);
    if (!Array.isArray(rows)) throw new InvalidHistoryError(`${name}: expected an array of trades or { "trades": [...] }`);
  } else rows = csvRows(text, name);
  return rows.map((row, i) => {
    const r = TradeRecord.safeParse(row);
    if (!r.success)
      throw new InvalidHistoryError(
        `${name}: trade ${i + 1}: ${r.error.issues.map((x) => `${x.path.join('.') || 'row'}: ${x.message}`).join('; ')}`,
      );
    return r.data;
  });
}

function csvRows(text: string, name: string): Record<string, unknown>[] {
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '' && !l.startsWith('#'));
  if (lines.length < 2) throw new InvalidHistoryError(`${name}: a CSV needs a header and at least one trade`);
  const header = lines[0]!.split(',').map((h) => h.trim());
  const timeCol = header.findIndex((h) => h === 'closedAt' || h === 'time' || h === 'closed_at');
  const pnlCol = header.indexOf('pnl');
  const balCol = header.indexOf('balance');
  if (timeCol < 0 || pnlCol < 0)
    throw new InvalidHistoryError(`${name}: the CSV header must name closedAt (or time) and pnl, got ${header.join(',')}`);
  return lines.slice(1).map((line, i) => {
    const cells = line.split(',').map((c) => c.trim());
    const num = (c: string | undefined) => (c === undefined || c === '' ? undefined : Number(c));
    const time = cells[timeCol]!;
    const row: Record<string, unknown> = { closedAt: /^\d+$/.test(time) ? Number(time) : time, pnl: num(cells[pnlCol]) };
    if (balCol >= 0 && cells[balCol] !== '') row.balance = num(cells[balCol]);
    if (Number.isNaN(row.pnl as number)) throw new InvalidHistoryError(`${name}: line ${i + 2}: pnl '${cells[pnlCol]}' is not a number`);
    return row;
  });
}

function toMillis(t: string | number, where: string): number {
  const ms = typeof t === 'number' ? t : DateTime.fromISO(t, { zone: 'utc' }).toMillis();
  if (!Number.isFinite(ms)) throw new InvalidHistoryError(`${where}: closedAt '${t}' is not a time`);
  return ms;
}

/**
 * Returns and trades per day of a trade list. Days are the tier's trading
 * days (its zone and reset time); a trade without `balance` is sized on
 * `accountSize`.
 */
export function historyOf(trades: readonly TradeRecord[], tier: Pick<Tier, 'timezone' | 'resetTime'>, accountSize: number): History {
  if (trades.length === 0) throw new InvalidHistoryError('the history has no trades');
  const [h, m] = tier.resetTime.split(':').map(Number) as [number, number];
  const dayOf = (ms: number) =>
    Math.floor(DateTime.fromMillis(ms, { zone: tier.timezone }).minus({ hours: h, minutes: m }).startOf('day').toMillis() / 1000);
  const timed = trades.map((t, i) => ({ t: toMillis(t.closedAt, `trade ${i + 1}`), r: t.pnl / (t.balance ?? accountSize) }));
  timed.sort((a, b) => a.t - b.t);
  for (const x of timed)
    if (!(x.r > -1)) throw new InvalidHistoryError(`a trade lost ${(-x.r * 100).toFixed(1)}% of its balance: returns must be above -100%`);
  const counts = new Map<number, number>();
  for (const x of timed) {
    const d = dayOf(x.t);
    counts.set(d, (counts.get(d) ?? 0) + 1);
  }
  const first = dayOf(timed[0]!.t);
  const last = dayOf(timed.at(-1)!.t);
  const tradesPerDay: number[] = [];
  // Walk calendar days from the first trade's to the last's (DST-safe: by local date, not by 24 h).
  for (let d = first, guard = 0; d <= last && guard < 100_000; guard++) {
    tradesPerDay.push(counts.get(d) ?? 0);
    d = DateTime.fromSeconds(d, { zone: tier.timezone }).plus({ days: 1 }).startOf('day').toMillis() / 1000;
  }
  return { returns: timed.map((x) => x.r), tradesPerDay, trades: timed.length, days: tradesPerDay.length };
}

/**
 * A live assessment's daily results as a history: one return per trading day
 * with realized P&L (its day's P&L over the starting balance), one trade a day.
 */
export function historyOfAssessment(state: AssessmentState): History {
  const days = Object.keys(state.dayPnl)
    .map(Number)
    .sort((a, b) => a - b);
  const returns = days.map((d) => state.dayPnl[d]! / state.startingBalance);
  const span = days.length === 0 ? 0 : days.at(-1)! - days[0]! + 1;
  const tradesPerDay = Array.from({ length: span }, (_, i) => (days[0]! + i in state.dayPnl ? 1 : 0));
  return { returns, tradesPerDay, trades: returns.length, days: span };
}

/** Where a live assessment stands now, for paths that start "from here". */
export function startStateOf(state: AssessmentState, now: number): StartState {
  const pastDays = Object.keys(state.dayPnl)
    .map(Number)
    .filter((d) => d !== state.dayIndex);
  const dayLength = Math.max(1, state.nextResetAt - state.dayStartedAt);
  return {
    phaseIndex: state.phaseIndex,
    balance: state.balance,
    daysElapsed: Math.max(0, (now - state.phaseStartedAt) / DAY_MS),
    dayFraction: Math.min(0.999, Math.max(0, (now - state.dayStartedAt) / dayLength)),
    daysSinceActivity: Math.max(0, (now - state.lastActivityAt) / DAY_MS),
    dailyFloor: Number.isFinite(state.rules.dailyFloor) ? state.rules.dailyFloor : -1e300,
    maxLossFloor: Number.isFinite(state.rules.maxLossFloor) ? state.rules.maxLossFloor : -1e300,
    highWater: state.rules.highWater,
    floorLocked: state.rules.floorLocked,
    tradingDays: state.tradingDays.length,
    trades: state.tradeCount,
    pastDayPnl: pastDays.map((d) => state.dayPnl[d]!),
    todayPnl: state.dayIndex in state.dayPnl ? state.dayPnl[state.dayIndex]! : null,
    tradedToday: state.tradingDays.includes(state.dayIndex),
    lockedToday: state.lockedBy !== undefined,
  };
}
