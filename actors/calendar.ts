/**
 * Trading-day arithmetic in a tier's time zone. Pure functions of their inputs
 * (the IANA zone database shipped with the runtime), never of the wall clock.
 */
import { DateTime } from 'luxon';

/** A point in the week: `day` 0 = Sunday … 6 = Saturday, `time` HH:MM local. */
export interface WeekPoint {
  readonly day: number;
  readonly time: string;
}

function hm(time: string): { hour: number; minute: number } {
  const [h, m] = time.split(':');
  return { hour: Number(h), minute: Number(m) };
}

/**
 * Memos of the pure functions below (not state: dropping them changes no
 * answer). For a key, the last answer `next` to a query `from` also answers
 * every query in [from, next), so many actors asking at one clock time cost
 * one zone computation, not one each.
 */
const resetMemo = new Map<string, { from: number; next: number }>();

/** The first reset instant strictly after `afterMs`, at local `resetTime` in `zone`. */
export function nextReset(afterMs: number, zone: string, resetTime: string): number {
  const key = `${zone}|${resetTime}`;
  const hit = resetMemo.get(key);
  if (hit !== undefined && afterMs >= hit.from && afterMs < hit.next) return hit.next;
  const next = computeNextReset(afterMs, zone, resetTime);
  if (resetMemo.size > 256) resetMemo.clear();
  resetMemo.set(key, { from: afterMs, next });
  return next;
}

function computeNextReset(afterMs: number, zone: string, resetTime: string): number {
  const { hour, minute } = hm(resetTime);
  const now = DateTime.fromMillis(afterMs, { zone });
  let candidate = now.set({ hour, minute, second: 0, millisecond: 0 });
  // A DST gap can shift the candidate; step whole local days until it lies ahead.
  for (let i = 0; candidate.toMillis() <= afterMs && i < 3; i++) {
    candidate = now.plus({ days: i + 1 }).set({ hour, minute, second: 0, millisecond: 0 });
  }
  return candidate.toMillis();
}

function minuteOfWeek(dt: DateTime): number {
  return (dt.weekday % 7) * 1440 + dt.hour * 60 + dt.minute;
}

function pointMinute(p: WeekPoint): number {
  const { hour, minute } = hm(p.time);
  return p.day * 1440 + hour * 60 + minute;
}

/** Whether `atMs` lies inside the weekly window [from, to) in `zone`. */
export function inWeeklyWindow(atMs: number, zone: string, from: WeekPoint, to: WeekPoint): boolean {
  const m = minuteOfWeek(DateTime.fromMillis(atMs, { zone }));
  const a = pointMinute(from);
  const b = pointMinute(to);
  return a <= b ? m >= a && m < b : m >= a || m < b;
}

const weekMemo = new Map<string, { from: number; next: number }>();

/** The first instant strictly after `afterMs` at which the weekly point `p` occurs in `zone`. */
export function nextWeekPoint(afterMs: number, zone: string, p: WeekPoint): number {
  const key = `${zone}|${p.day}|${p.time}`;
  const hit = weekMemo.get(key);
  if (hit !== undefined && afterMs >= hit.from && afterMs < hit.next) return hit.next;
  const next = computeNextWeekPoint(afterMs, zone, p);
  if (weekMemo.size > 256) weekMemo.clear();
  weekMemo.set(key, { from: afterMs, next });
  return next;
}

function computeNextWeekPoint(afterMs: number, zone: string, p: WeekPoint): number {
  const { hour, minute } = hm(p.time);
  const start = DateTime.fromMillis(afterMs, { zone }).startOf('day');
  for (let d = 0; d <= 8; d++) {
    const day = start.plus({ days: d });
    if (day.weekday % 7 !== p.day) continue;
    const candidate = day.set({ hour, minute, second: 0, millisecond: 0 }).toMillis();
    if (candidate > afterMs) return candidate;
  }
  throw new Error(`no occurrence of weekday ${p.day} ${p.time} within 8 days`);
}

/** Milliseconds in a day, for day-count limits (inactivity, phase length). */
export const DAY_MS = 86_400_000;
