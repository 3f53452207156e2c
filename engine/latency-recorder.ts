/**
 * Keeps the most recent latency samples (a ring) and reports percentiles.
 * Used by shards to report tick-to-verdict latency without unbounded memory.
 */
export class LatencyRecorder {
  readonly #ring: Float64Array;
  #count = 0;

  /** @param capacity samples kept. @default 65536 */
  constructor(capacity = 65_536) {
    this.#ring = new Float64Array(capacity);
  }

  record(ms: number): void {
    this.#ring[this.#count++ % this.#ring.length] = ms;
  }

  get count(): number {
    return this.#count;
  }

  /** The kept samples, oldest first order not guaranteed. */
  samples(): Float64Array {
    return this.#ring.slice(0, Math.min(this.#count, this.#ring.length));
  }

  reset(): void {
    this.#count = 0;
  }
}

/** Percentile (nearest rank) of unsorted samples; NaN when empty. */
export function percentile(samples: ArrayLike<number>, p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = Float64Array.from(samples).sort();
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank]!;
}
