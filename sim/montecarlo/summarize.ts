/**
 * Per-path records to the result: outcome shares with Wilson intervals, and
 * distributions whose percentiles interpolate linearly between order
 * statistics, as NumPy's default `percentile` does (a test checks both
 * against NumPy on the same samples).
 */
import { mean, standardDeviation } from 'simple-statistics';
import type { ChunkRecords } from './path-kernel.js';
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

const BUCKETS = 65_536;

/**
 * Percentiles of `values` exactly as from a sorted copy, without sorting:
 * one pass buckets the values by an order-preserving map, the buckets that
 * hold the wanted ranks are sorted alone (the pool summarizes a million paths
 * per job; a full sort cost more than the paths).
 */
export function percentiles(values: Float64Array, qs: readonly number[]): number[] {
  const n = values.length;
  if (n === 0) return qs.map(() => NaN);
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (!(max > min)) return qs.map(() => min);
  const scale = (BUCKETS - 1) / (max - min);
  const counts = new Uint32Array(BUCKETS);
  for (let i = 0; i < n; i++) counts[Math.floor((values[i]! - min) * scale)]!++;
  // The order statistics needed: floor(h) and the next one, per percentile.
  const ranks = new Set<number>();
  const hs = qs.map((q) => ((n - 1) * q) / 100);
  for (const h of hs) {
    ranks.add(Math.floor(h));
    ranks.add(Math.min(Math.floor(h) + 1, n - 1));
  }
  const wanted = new Map<number, { first: number; values: number[] }>();
  const bucketOf = new Map<number, number>();
  let before = 0;
  const sortedRanks = [...ranks].sort((a, b) => a - b);
  let r = 0;
  for (let b = 0; b < BUCKETS && r < sortedRanks.length; b++) {
    const c = counts[b]!;
    while (r < sortedRanks.length && sortedRanks[r]! < before + c) {
      bucketOf.set(sortedRanks[r]!, b);
      if (!wanted.has(b)) wanted.set(b, { first: before, values: [] });
      r++;
    }
    before += c;
  }
  for (let i = 0; i < n; i++) {
    const v = values[i]!;
    const w = wanted.get(Math.floor((v - min) * scale));
    if (w !== undefined) w.values.push(v);
  }
  for (const w of wanted.values()) w.values.sort((a, b) => a - b);
  const at = (rank: number): number => {
    const w = wanted.get(bucketOf.get(rank)!)!;
    return w.values[rank - w.first]!;
  };
  return hs.map((h) => {
    const lo = Math.floor(h);
    const a = at(lo);
    return a + (h - lo) * (at(Math.min(lo + 1, n - 1)) - a);
  });
}

/** Summary of a sample: mean, population std (NumPy's `std`), extremes and percentiles. */
export function distribution(values: Float64Array): Distribution {
  // simple-statistics only indexes its input, so a typed array serves without a copy.
  const plain = values as unknown as number[];
  let min = Infinity;
  let max = -Infinity;
  for (const v of values) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const [p5, p25, p50, p75, p95, p99] = percentiles(values, QUANTILES) as [number, number, number, number, number, number];
  return {
    n: values.length,
    mean: mean(plain),
    std: values.length > 1 ? standardDeviation(plain) : 0,
    min,
    max,
    p5,
    p25,
    p50,
    p75,
    p95,
    p99,
  };
}

/** Equal-width bins from 0 to the largest value, counted as `numpy.histogram` (last bin closed). */
export function histogram(values: Float64Array, bins = HISTOGRAM_BINS): Histogram {
  let max = 0;
  for (const v of values) if (v > max) max = v;
  if (max === 0) max = 1e-9;
  const edges = Array.from({ length: bins + 1 }, (_, i) => (max * i) / bins);
  const counts = new Array<number>(bins).fill(0);
  for (const v of values) {
    let b = Math.floor((v / max) * bins);
    if (b >= bins) b = bins - 1;
    if (b < 0) b = 0;
    counts[b]!++;
  }
  return { edges, counts };
}

/** Records of every chunk, in chunk order, to the result. */
export function summarize(
  chunks: readonly ChunkRecords[],
  meta: {
    seed: string;
    method: SimulationResult['method'];
    blockLength: number;
    fanSteps: number;
    trackRuin: boolean;
    engine: SimulationResult['engine'];
    elapsedMs: number;
  },
): SimulationResult {
  const total = chunks.reduce((s, c) => s + c.outcome.length, 0);
  const counts = new Array<number>(OUTCOMES.length).fill(0);
  let ruined = 0;
  let passes = 0;
  for (const c of chunks) {
    for (let i = 0; i < c.outcome.length; i++) {
      counts[c.outcome[i]!]!++;
      ruined += c.ruined[i]!;
    }
  }
  passes = counts[0]!;
  const drawdown = concat(chunks, (c) => c.maxDrawdown, total);
  const finalPnl = concat(chunks, (c) => c.finalPnl, total);
  const passDays = new Float64Array(passes);
  let j = 0;
  for (const c of chunks) for (const d of c.passDay) if (!Number.isNaN(d)) passDays[j++] = d;
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
    daysToPass: passes > 0 ? distribution(passDays) : null,
    maxDrawdown: distribution(drawdown),
    finalPnl: distribution(finalPnl),
    riskOfRuin: meta.trackRuin ? wilson(ruined, total) : null,
    drawdownHistogram: histogram(drawdown),
    fan: fan(chunks, meta.fanSteps),
    engine: meta.engine,
    elapsedMs: meta.elapsedMs,
  };
}

function concat(chunks: readonly ChunkRecords[], pick: (c: ChunkRecords) => Float64Array, total: number): Float64Array {
  const out = new Float64Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(pick(c), at);
    at += c.outcome.length;
  }
  return out;
}

function fan(chunks: readonly ChunkRecords[], fanSteps: number): SimulationResult['fan'] {
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
