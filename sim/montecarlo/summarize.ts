/**
 * Per-path records to the result: outcome shares with Wilson intervals, and
 * distributions whose percentiles interpolate linearly between order
 * statistics, as NumPy's default `percentile` does (a test checks both
 * against NumPy on the same samples).
 */
import type { ChunkRecords, Wants } from './path-kernel.js';
import { OUTCOMES, type Distribution, type Estimate, type Histogram, type Outcome, type SimulationResult } from './simulation-spec.js';

const Z95 = 1.959963984540054;
const HISTOGRAM_BINS = 40;
const FAN_SAMPLES = 20;

/** `k` successes in `n` trials, with the Wilson score 95% interval. */
export function wilson(k: number, n: number): Estimate {
  if (n === 0) return { p: 0, lo: 0, hi: 1 };
  const p = k / n;
  const z2 = Z95 * Z95;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (Z95 * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/** Percentile `q` (0..100) of ascending `sorted`, linear between order statistics (NumPy's default). */
export function percentileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = ((n - 1) * q) / 100;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, n - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

const QUANTILES = [5, 25, 50, 75, 95, 99] as const;

// Few enough that the counts stay in the L1 cache; the wanted buckets' values are sorted (a few hundred each per million).
const BUCKETS = 4096;

/** A sample held in parts (the chunks' arrays), read in order without concatenating them. */
type Parts = readonly Float64Array[];

// The passes below run per part, in small functions: a loop over all the parts inside one function is
// optimized on stack (OSR) for its inner loop and deoptimized at every part's end, which cost more than the pass.

/** Adds `values` to `acc` = [n, min, max, sum, correction] (Neumaier's compensated sum, as simple-statistics' `sum`). */
function scanPart(values: Float64Array, acc: Float64Array): void {
  const n = acc[0]!;
  let min = acc[1]!;
  let max = acc[2]!;
  let sum = acc[3]!;
  let correction = acc[4]!;
  const len = values.length;
  let i = 0;
  if (n === 0 && len > 0) {
    sum = values[0]!;
    min = sum;
    max = sum;
    i = 1;
  }
  for (; i < len; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
    const t = sum + v;
    correction += Math.abs(sum) >= Math.abs(v) ? sum - t + v : v - t + sum;
    sum = t;
  }
  acc[0] = n + len;
  acc[1] = min;
  acc[2] = max;
  acc[3] = sum;
  acc[4] = correction;
}

/** Count, extremes and sum of `parts`. */
function scan(parts: Parts): { n: number; min: number; max: number; sum: number } {
  const acc = Float64Array.of(0, Infinity, -Infinity, 0, 0);
  for (let k = 0; k < parts.length; k++) scanPart(parts[k]!, acc);
  return { n: acc[0]!, min: acc[1]!, max: acc[2]!, sum: acc[3]! + acc[4]! };
}

function squaresPart(values: Float64Array, mean: number): number {
  let squares = 0;
  for (let i = 0; i < values.length; i++) {
    const d = values[i]! - mean;
    squares += d * d;
  }
  return squares;
}

function countPart(values: Float64Array, counts: Uint32Array, min: number, scale: number): void {
  // (v - min) * scale is in [0, BUCKETS - 1], so `| 0` is the floor.
  for (let i = 0; i < values.length; i++) counts[((values[i]! - min) * scale) | 0]!++;
}

function collectPart(values: Float64Array, slot: Int32Array, held: Float64Array[], fill: Int32Array, min: number, scale: number): void {
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    const s = slot[((v - min) * scale) | 0]!;
    if (s >= 0) held[s]![fill[s]!++] = v;
  }
}

/**
 * Percentiles of the sample exactly as from a sorted copy, without sorting:
 * one pass buckets the values by an order-preserving map, a second copies
 * out the few buckets that hold the wanted ranks, which alone are sorted (the
 * pool summarizes a million paths per job; a full sort cost more than the
 * paths). `min` and `max` are the sample's extremes.
 */
function percentilesOf(parts: Parts, n: number, min: number, max: number, qs: readonly number[]): number[] {
  if (n === 0) return qs.map(() => NaN);
  if (!(max > min)) return qs.map(() => min);
  const scale = (BUCKETS - 1) / (max - min);
  const counts = new Uint32Array(BUCKETS);
  for (let k = 0; k < parts.length; k++) countPart(parts[k]!, counts, min, scale);
  // The order statistics needed: floor(h) and the next one, per percentile.
  const hs = qs.map((q) => ((n - 1) * q) / 100);
  const ranks = [...new Set(hs.flatMap((h) => [Math.floor(h), Math.min(Math.floor(h) + 1, n - 1)]))].sort((a, b) => a - b);
  // slot[bucket]: where a wanted bucket's values go (-1: not wanted); firstRank and held per slot.
  const slot = new Int32Array(BUCKETS).fill(-1);
  const firstRank: number[] = [];
  const held: Float64Array[] = [];
  const bucketOfRank = new Map<number, number>();
  let before = 0;
  let r = 0;
  for (let b = 0; b < BUCKETS && r < ranks.length; b++) {
    const c = counts[b]!;
    while (r < ranks.length && ranks[r]! < before + c) {
      if (slot[b] === -1) {
        slot[b] = held.length;
        firstRank.push(before);
        held.push(new Float64Array(c));
      }
      bucketOfRank.set(ranks[r]!, b);
      r++;
    }
    before += c;
  }
  const fill = new Int32Array(held.length);
  for (let k = 0; k < parts.length; k++) collectPart(parts[k]!, slot, held, fill, min, scale);
  for (const h of held) h.sort();
  const at = (rank: number): number => {
    const s = slot[bucketOfRank.get(rank)!]!;
    return held[s]![rank - firstRank[s]!]!;
  };
  return hs.map((h) => {
    const lo = Math.floor(h);
    const a = at(lo);
    return a + (h - lo) * (at(Math.min(lo + 1, n - 1)) - a);
  });
}

/** Percentiles `qs` (0..100) of `values`, linear between order statistics (NumPy's default), without a full sort. */
export function percentiles(values: Float64Array, qs: readonly number[]): number[] {
  const { n, min, max } = scan([values]);
  return percentilesOf([values], n, min, max, qs);
}

/** {@link distribution} of a sample held in parts. */
function distributionOf(parts: Parts): Distribution {
  const { n, min, max, sum } = scan(parts);
  if (n === 0) throw new Error('distribution of an empty sample');
  const mean = sum / n;
  // Squared deviations about the mean, summed plainly (as simple-statistics' `variance`).
  let squares = 0;
  for (let k = 0; k < parts.length; k++) squares += squaresPart(parts[k]!, mean);
  const [p5, p25, p50, p75, p95, p99] = percentilesOf(parts, n, min, max, QUANTILES) as [number, number, number, number, number, number];
  return { n, mean, std: n > 1 ? Math.sqrt(squares / n) : 0, min, max, p5, p25, p50, p75, p95, p99 };
}

/** Summary of a sample: mean, population std (NumPy's `std`), extremes and percentiles. */
export function distribution(values: Float64Array): Distribution {
  return distributionOf([values]);
}

/** Equal-width bins from 0 to the largest value, counted as `numpy.histogram` (last bin closed). */
export function histogram(values: Float64Array, bins = HISTOGRAM_BINS): Histogram {
  return histogramOf([values], bins);
}

function histogramOf(parts: Parts, bins: number): Histogram {
  let max = 0;
  for (let k = 0; k < parts.length; k++) max = maxPart(parts[k]!, max);
  if (max === 0) max = 1e-9;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (max * i) / bins);
  const counts = new Int32Array(bins);
  for (let k = 0; k < parts.length; k++) binPart(parts[k]!, counts, max);
  return { edges, counts: Array.from(counts) };
}

function maxPart(values: Float64Array, max: number): number {
  for (let i = 0; i < values.length; i++) if (values[i]! > max) max = values[i]!;
  return max;
}

function binPart(values: Float64Array, counts: Int32Array, max: number): void {
  const bins = counts.length;
  for (let i = 0; i < values.length; i++) {
    let b = Math.floor((values[i]! / max) * bins);
    if (b >= bins) b = bins - 1;
    if (b < 0) b = 0;
    counts[b]!++;
  }
}

/**
 * What a worker sends back for a chunk: its outcome counts, and only the
 * per-path values the job's figures need (none for the pass probability
 * alone), so the pool's thread merges counts instead of scanning paths.
 */
export interface ChunkSummary {
  readonly paths: number;
  /** Paths per outcome, in {@link OUTCOMES} order. */
  readonly counts: Float64Array;
  readonly ruined: number;
  /** Days to pass of the passing paths, in path order (empty unless wanted). */
  readonly passDays: Float64Array;
  /** Per path (empty unless wanted). */
  readonly maxDrawdown: Float64Array;
  /** Per path (empty unless wanted). */
  readonly finalPnl: Float64Array;
  readonly fan: Float64Array;
  readonly fanRows: number;
}

/** A chunk's records reduced to its {@link ChunkSummary} (on the worker that ran it). */
export function summarizeChunk(rec: ChunkRecords): ChunkSummary {
  const counts = new Float64Array(OUTCOMES.length);
  const outcome = rec.outcome;
  for (let i = 0; i < outcome.length; i++) counts[outcome[i]!]!++;
  let ruined = 0;
  for (let i = 0; i < rec.ruined.length; i++) ruined += rec.ruined[i]!;
  const passDays = new Float64Array(rec.passDay.length === 0 ? 0 : counts[0]!);
  collectPassDays(rec.passDay, passDays, 0);
  return {
    paths: outcome.length,
    counts,
    ruined,
    passDays,
    maxDrawdown: rec.maxDrawdown,
    finalPnl: rec.finalPnl,
    fan: rec.fan,
    fanRows: rec.fanRows,
  };
}

/** Summaries of every chunk, in chunk order, to the result; a figure the job did not want is null. */
export function summarize(
  chunks: readonly ChunkSummary[],
  meta: {
    seed: string;
    method: SimulationResult['method'];
    blockLength: number;
    fanSteps: number;
    trackRuin: boolean;
    wants: Wants;
    engine: SimulationResult['engine'];
    elapsedMs: number;
  },
): SimulationResult {
  let total = 0;
  let ruined = 0;
  let passDayCount = 0;
  const counts = new Float64Array(OUTCOMES.length);
  for (const c of chunks) {
    total += c.paths;
    ruined += c.ruined;
    passDayCount += c.passDays.length;
    for (let k = 0; k < counts.length; k++) counts[k]! += c.counts[k]!;
  }
  const passes = counts[0]!;
  // The chunks' arrays are read in place: a million paths' worth of copies cost as much as the statistics.
  const drawdown = chunks.map((c) => c.maxDrawdown);
  const finalPnl = chunks.map((c) => c.finalPnl);
  const passDays = new Float64Array(passDayCount);
  let j = 0;
  for (const c of chunks) {
    passDays.set(c.passDays, j);
    j += c.passDays.length;
  }
  const outcomes = {} as Record<Outcome, number>;
  const breakdown = {} as Record<Outcome, Estimate>;
  OUTCOMES.forEach((o, k) => {
    outcomes[o] = counts[k]!;
    breakdown[o] = wilson(counts[k]!, total);
  });
  return {
    paths: total,
    seed: meta.seed,
    method: meta.method,
    blockLength: Number.isNaN(meta.blockLength) ? null : meta.blockLength,
    outcomes,
    pass: wilson(passes, total),
    breakdown,
    daysToPass: meta.wants.passDay && passes > 0 ? distribution(passDays) : null,
    maxDrawdown: meta.wants.maxDrawdown ? distributionOf(drawdown) : null,
    finalPnl: meta.wants.finalPnl ? distributionOf(finalPnl) : null,
    riskOfRuin: meta.trackRuin ? wilson(ruined, total) : null,
    drawdownHistogram: meta.wants.maxDrawdown ? histogramOf(drawdown, HISTOGRAM_BINS) : null,
    fan: fan(chunks, meta.fanSteps),
    engine: meta.engine,
    elapsedMs: meta.elapsedMs,
  };
}

function collectPassDays(days: Float64Array, into: Float64Array, at: number): number {
  for (let i = 0; i < days.length; i++) if (!Number.isNaN(days[i]!)) into[at++] = days[i]!;
  return at;
}

function fan(chunks: readonly ChunkSummary[], fanSteps: number): SimulationResult['fan'] {
  const width = fanSteps + 1;
  const rows: Float64Array[] = [];
  for (const c of chunks) for (let r = 0; r < c.fanRows; r++) rows.push(c.fan.subarray(r * width, (r + 1) * width));
  const bands = { p5: [] as number[], p25: [] as number[], p50: [] as number[], p75: [] as number[], p95: [] as number[] };
  const steps: number[] = [];
  if (rows.length > 0) {
    const column = new Float64Array(rows.length);
    for (let k = 0; k < width; k++) {
      rows.forEach((row, i) => (column[i] = row[k]!));
      column.sort();
      steps.push(k);
      bands.p5.push(percentileSorted(column, 5));
      bands.p25.push(percentileSorted(column, 25));
      bands.p50.push(percentileSorted(column, 50));
      bands.p75.push(percentileSorted(column, 75));
      bands.p95.push(percentileSorted(column, 95));
    }
  }
  return { steps, bands, samples: rows.slice(0, FAN_SAMPLES).map((r) => Array.from(r)) };
}
