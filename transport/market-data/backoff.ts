/**
 * Exponential backoff with jitter for reconnecting to a venue. The random
 * source is injected, so a test can replay an exact schedule.
 */

/** Options of {@link Backoff}. */
export interface BackoffOptions {
  /** Ceiling of the first delay, ms. @default 250 */
  readonly initialMs?: number;
  /** Largest ceiling, ms. @default 30_000 */
  readonly maxMs?: number;
  /** Growth of the ceiling per attempt. @default 2 */
  readonly factor?: number;
  /** Uniform [0, 1) source of the jitter. @default Math.random */
  readonly random?: () => number;
}

/**
 * "Equal jitter": attempt n waits `c/2 + random·c/2` where `c = min(max,
 * initial·factor^n)`. Half the ceiling is always waited, so a venue that
 * drops every connection is not hammered, and the random half spreads the
 * reconnects of many connectors after a venue-wide outage.
 */
export class Backoff {
  readonly #initial: number;
  readonly #max: number;
  readonly #factor: number;
  readonly #random: () => number;
  #attempt = 0;

  constructor(options: BackoffOptions = {}) {
    this.#initial = options.initialMs ?? 250;
    this.#max = options.maxMs ?? 30_000;
    this.#factor = options.factor ?? 2;
    this.#random = options.random ?? Math.random;
    if (!(this.#initial > 0) || !(this.#max >= this.#initial) || !(this.#factor >= 1)) {
      throw new RangeError('backoff needs 0 < initialMs <= maxMs and factor >= 1');
    }
  }

  /** Attempts since the last {@link reset}. */
  get attempt(): number {
    return this.#attempt;
  }

  /** The ceiling of attempt `n` (no jitter). */
  ceiling(n: number): number {
    return Math.min(this.#max, this.#initial * this.#factor ** n);
  }

  /** The delay before the next attempt, ms (and counts the attempt). */
  next(): number {
    const c = this.ceiling(this.#attempt++);
    const r = Math.min(Math.max(this.#random(), 0), 1);
    return Math.round(c / 2 + (r * c) / 2);
  }

  /** Start over from the first delay (after a connection proved stable). */
  reset(): void {
    this.#attempt = 0;
  }
}
