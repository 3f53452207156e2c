/**
 * A fixed-memory latency histogram: 10 µs buckets up to 100 ms, exact
 * samples above. Shards record every tick's tick-to-verdict latency in it,
 * however long the run.
 */
const BUCKET_MS = 0.01;
const BUCKETS = 10_000;

export class LatencyRecorder {
  readonly #counts = new Float64Array(BUCKETS);
  #over: number[] = [];
  #count = 0;
  #max = 0;

  record(ms: number): void {
    this.#count++;
    if (ms > this.#max) this.#max = ms;
    const b = Math.floor(ms / BUCKET_MS);
    if (b < BUCKETS) this.#counts[Math.max(b, 0)]!++;
    else this.#over.push(ms);
  }

  get count(): number {
    return this.#count;
  }

  get max(): number {
    return this.#max;
  }

  /** Nearest-rank percentile, to the bucket's upper edge; NaN when empty. */
  percentile(p: number): number {
    if (this.#count === 0) return NaN;
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count));
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.#counts[b]!;
      if (seen >= rank) return (b + 1) * BUCKET_MS;
    }
    const over = [...this.#over].sort((x, y) => x - y);
    return over[rank - seen - 1] ?? this.#max;
  }

  reset(): void {
    this.#counts.fill(0);
    this.#over = [];
    this.#count = 0;
    this.#max = 0;
  }
}
