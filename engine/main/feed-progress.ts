/**
 * Progress lines of a feed being published: how many items, the feed's own
 * time, and the share done when the total is known, at most one line per
 * interval, so a long replay never looks hung.
 */
import { performance } from 'node:perf_hooks';

/** Options of {@link FeedProgress}. */
export interface FeedProgressOptions {
  /** Items in the whole feed (a tape); unknown for an endless feed. @default undefined */
  readonly total?: number | undefined;
  /** Where a line goes. */
  readonly write: (line: string) => void;
  /** Least wall time between two lines, ms. @default 2_000 */
  readonly intervalMs?: number;
  /** Wall clock, ms. @default performance.now */
  readonly now?: () => number;
}

/** Counts items sent and reports at most one line per interval. */
export class FeedProgress {
  readonly #o: FeedProgressOptions;
  readonly #now: () => number;
  readonly #interval: number;
  #sent = 0;
  #feedTime: number | undefined;
  #lastLine: number;

  constructor(options: FeedProgressOptions) {
    this.#o = options;
    this.#now = options.now ?? (() => performance.now());
    this.#interval = options.intervalMs ?? 2_000;
    this.#lastLine = this.#now();
  }

  /** Items sent so far. */
  get count(): number {
    return this.#sent;
  }

  /** One more item sent, stamped `at` (feed time, ms since the epoch). */
  sent(at: number): void {
    this.#sent++;
    this.#feedTime = at;
  }

  /** The progress line now: `120/480 sent (25%), feed time 2026-11-02T18:00:00.000Z`. */
  line(): string {
    const total = this.#o.total;
    const count =
      total === undefined
        ? `${this.#sent} sent`
        : `${this.#sent}/${total} sent (${total === 0 ? 100 : Math.floor((100 * this.#sent) / total)}%)`;
    return `${count}${this.#feedTime === undefined ? '' : `, feed time ${new Date(this.#feedTime).toISOString()}`}`;
  }

  /** Writes the line if the interval has passed since the last one. */
  maybeReport(): void {
    const now = this.#now();
    if (now - this.#lastLine < this.#interval) return;
    this.#lastLine = now;
    this.#o.write(this.line());
  }
}
