/**
 * The embedded market log: an in-process bus that numbers what is published
 * to it, keeps the most recent inputs for readers that start behind, and
 * hands new ones to live readers. It lives and dies with the process: use
 * JetStream where ticks must survive a crash.
 */
import type { ClockInput, ResolutionInput, TickInput, MarketInput, MarketLog, MarketReader } from '../../engine/index.js';

/** An input to publish, without its sequence (the bus assigns it). */
export type UnsequencedMarketInput = Omit<TickInput, 'seq'> | Omit<ResolutionInput, 'seq'> | ClockInput;

/** Options of {@link MemoryMarketLog}. */
export interface MemoryMarketLogOptions {
  /** Sequence of the first input published. @default 1 */
  readonly firstSeq?: number;
  /** Inputs kept for readers starting behind the tail. @default 1_000_000 */
  readonly retain?: number;
}

/** Raised to a reader asking for inputs the bus no longer keeps. */
export class MarketLogTruncatedError extends Error {
  readonly code = 'MARKET_LOG_TRUNCATED';
  constructor(fromSeq: number, oldest: number) {
    super(`market log starts at seq ${oldest}; seq ${fromSeq} is no longer kept`);
    this.name = 'MarketLogTruncatedError';
  }
}

/** In-process {@link MarketLog}. */
export class MemoryMarketLog implements MarketLog {
  readonly #retain: number;
  #items: MarketInput[] = [];
  #first: number;
  readonly #readers = new Set<() => void>();

  constructor(options: MemoryMarketLogOptions = {}) {
    this.#first = options.firstSeq ?? 1;
    this.#retain = options.retain ?? 1_000_000;
  }

  /** Sequence of the last input published (firstSeq - 1 before any). */
  get lastSeq(): number {
    return this.#first + this.#items.length - 1;
  }

  /** Append one input; returns its sequence. */
  publish(input: UnsequencedMarketInput): number {
    const seq = this.lastSeq + 1;
    this.#items.push({ ...input, seq } as MarketInput);
    if (this.#items.length > this.#retain * 2) {
      const drop = this.#items.length - this.#retain;
      this.#items = this.#items.slice(drop);
      this.#first += drop;
    }
    for (const wake of this.#readers) wake();
    return seq;
  }

  async tail(): Promise<number> {
    return this.lastSeq;
  }

  /**
   * Read from `fromSeq`. A bus nothing was published to yet continues its
   * numbering at `fromSeq`: after a restart on a checkpoint at seq N, new
   * inputs are N + 1, N + 2, … rather than reusing numbers already applied.
   */
  open(fromSeq: number): MarketReader {
    if (this.#items.length === 0 && fromSeq > this.#first) this.#first = fromSeq;
    const bus = this;
    let stopped = false;
    let wake: (() => void) | undefined;
    const stopWaiting = (): void => wake?.();
    return {
      async *[Symbol.asyncIterator]() {
        let next = Math.max(fromSeq, 1);
        if (next < bus.#first && bus.#items.length > 0) throw new MarketLogTruncatedError(next, bus.#first);
        const onPublish = (): void => wake?.();
        bus.#readers.add(onPublish);
        try {
          while (!stopped) {
            if (next <= bus.lastSeq) {
              if (next < bus.#first) throw new MarketLogTruncatedError(next, bus.#first);
              yield bus.#items[next - bus.#first]!;
              next++;
              continue;
            }
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
          }
        } finally {
          bus.#readers.delete(onPublish);
        }
      },
      async stop() {
        stopped = true;
        stopWaiting();
      },
    };
  }
}
