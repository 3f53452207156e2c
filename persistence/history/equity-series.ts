/**
 * An assessment's equity over time at a bounded resolution, from its points
 * (where the balance or positions changed, or equity is known exactly) and
 * the market's marks per bucket. Pure: the same rows give the same series.
 *
 * Each bucket of width `resolutionMs` (a whole number of minutes, chosen so
 * that at most `maxPoints` buckets cover the range) gives one point:
 * - `equity`: at the bucket's end, the balance plus the positions then held
 *   marked at the bucket's last quotes (longs at the bid, shorts at the ask,
 *   as the engine marks them; the entry price before any quote);
 * - `low` / `high`: the lowest and highest of that, of the exact equities the
 *   events in the bucket state (a day's start, a violation, a flat account),
 *   and, when the positions did not change inside the bucket, of the
 *   positions marked at the bucket's worst quotes (lowest bid, highest ask):
 *   the closest approach to a floor at this resolution;
 * - the balance and floors in force at the bucket's end.
 */
import type { HeldPosition, PointRow } from './history-rows.js';

/** Marks of one symbol over one bucket of the series. */
export interface BucketMarks {
  readonly symbol: string;
  /** Bucket start, epoch ms (a multiple of the resolution). */
  readonly bucket: number;
  readonly bid: number;
  readonly ask: number;
  readonly lowBid: number;
  readonly highAsk: number;
}

export interface EquityPoint {
  /** End of the bucket (or of the range, for the last one). */
  readonly t: number;
  readonly equity: number;
  readonly low: number;
  readonly high: number;
  readonly balance: number;
  readonly dailyFloor: number | null;
  readonly maxLossFloor: number | null;
  readonly phaseIndex: number;
}

export interface EquitySeries {
  readonly from: number;
  readonly to: number;
  readonly resolutionMs: number;
  readonly points: readonly EquityPoint[];
}

const MINUTE = 60_000;

/** The bucket width for a range: whole minutes, at most `maxPoints` buckets. */
export function resolutionFor(from: number, to: number, maxPoints: number): number {
  const span = Math.max(0, to - from);
  return Math.max(1, Math.ceil(span / Math.max(1, maxPoints) / MINUTE)) * MINUTE;
}

/** Symbols ever held in `points`. */
export function heldSymbols(points: readonly PointRow[]): string[] {
  const out = new Set<string>();
  for (const p of points) for (const h of p.positions) out.add(h.symbol);
  return [...out].sort();
}

/**
 * Build the series over `[from, to]` from `points` (in order) and `marks`
 * bucketed at `resolutionMs` (any order).
 */
export function equitySeries(
  points: readonly PointRow[],
  marks: readonly BucketMarks[],
  from: number,
  to: number,
  resolutionMs: number,
): EquitySeries {
  if (points.length === 0 || to < from) return { from, to, resolutionMs, points: [] };
  const bySymbol = new Map<string, Map<number, BucketMarks>>();
  for (const m of marks) {
    let map = bySymbol.get(m.symbol);
    if (map === undefined) bySymbol.set(m.symbol, (map = new Map()));
    map.set(m.bucket, m);
  }
  const last = new Map<string, { bid: number; ask: number }>();
  const out: EquityPoint[] = [];
  let k = 0;
  let state: PointRow | undefined;
  const first = Math.floor(from / resolutionMs) * resolutionMs;
  for (let b = first; b <= to; b += resolutionMs) {
    const end = Math.min(b + resolutionMs, to);
    const startState = state;
    let low = Infinity;
    let high = -Infinity;
    let changed = false;
    // Points inside this bucket (the last bucket also takes the point at `to` itself).
    while (k < points.length && (points[k]!.at < b + resolutionMs || (b + resolutionMs > to && points[k]!.at <= to))) {
      const p = points[k++]!;
      if (state !== undefined && !samePositions(state.positions, p.positions)) changed = true;
      if (state === undefined && p.positions.length > 0) changed = true;
      state = p;
      if (p.equity !== null) {
        low = Math.min(low, p.equity);
        high = Math.max(high, p.equity);
      }
    }
    for (const [symbol, map] of bySymbol) {
      const m = map.get(b);
      if (m !== undefined) last.set(symbol, { bid: m.bid, ask: m.ask });
    }
    if (state === undefined) continue; // before the assessment's first point
    const equity = valued(state, (h) => {
      const q = last.get(h.symbol);
      return q === undefined ? h.avgEntry : h.qty > 0 ? q.bid : q.ask;
    });
    low = Math.min(low, equity);
    high = Math.max(high, equity);
    if (!changed && startState !== undefined && state.positions.length > 0) {
      const worst = valued(state, (h) => {
        const m = bySymbol.get(h.symbol)?.get(b);
        const q = last.get(h.symbol);
        if (m !== undefined) return h.qty > 0 ? m.lowBid : m.highAsk;
        return q === undefined ? h.avgEntry : h.qty > 0 ? q.bid : q.ask;
      });
      low = Math.min(low, worst);
    }
    out.push({
      t: end,
      equity,
      low,
      high,
      balance: state.balance,
      dailyFloor: state.dailyFloor,
      maxLossFloor: state.maxLossFloor,
      phaseIndex: state.phaseIndex,
    });
  }
  return { from, to, resolutionMs, points: out };
}

function valued(p: PointRow, mark: (h: HeldPosition) => number): number {
  if (p.positions.length === 0) return p.balance;
  let eq = p.balance;
  for (const h of p.positions) eq += (mark(h) - h.avgEntry) * h.qty;
  return eq;
}

function samePositions(a: readonly HeldPosition[], b: readonly HeldPosition[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++)
    if (a[i]!.symbol !== b[i]!.symbol || a[i]!.qty !== b[i]!.qty || a[i]!.avgEntry !== b[i]!.avgEntry) return false;
  return true;
}
