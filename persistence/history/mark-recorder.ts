/**
 * Market marks for the equity series: each tick folded into the minute of its
 * own timestamp (last quote by market-log seq, lowest bid, highest ask), held
 * in memory until the next flush. A minute is one row per symbol however many
 * ticks it had, and merging is idempotent, so a tick read twice (a node
 * re-reading the market log after a restart) changes nothing.
 */
import type { MarkBucket } from './pg-history-store.js';

/** What a recorder needs of a market input: a tick's fields (other inputs are ignored). */
export interface MarkInput {
  readonly type: string;
  readonly seq?: number;
  readonly ts?: number;
  readonly symbol?: string;
  readonly bid?: number;
  readonly ask?: number;
}

/** The bucket width of the marks, ms. */
export const MARK_BUCKET_MS = 60_000;

interface Agg {
  bucket: number;
  symbol: string;
  seq: number;
  bid: number;
  ask: number;
  lowBid: number;
  highAsk: number;
}

export class MarkRecorder {
  readonly #pending = new Map<string, Agg>();
  /** Most minutes held before `add` asks for a flush (10 symbols × 10 minutes). */
  readonly #maxPending: number;
  #onFull: (() => void) | undefined;

  constructor(options: { maxPending?: number; onFull?: () => void } = {}) {
    this.#maxPending = options.maxPending ?? 100;
    this.#onFull = options.onFull;
  }

  /** Minutes waiting for a flush. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Fold one market input in (ticks only). */
  add(input: MarkInput): void {
    if (input.type !== 'tick' || input.symbol === undefined || input.ts === undefined || input.bid === undefined || input.ask === undefined)
      return;
    const bucket = Math.floor(input.ts / MARK_BUCKET_MS) * MARK_BUCKET_MS;
    const key = `${input.symbol}\u0000${bucket}`;
    const seq = input.seq ?? 0;
    const a = this.#pending.get(key);
    if (a === undefined) {
      this.#pending.set(key, { bucket, symbol: input.symbol, seq, bid: input.bid, ask: input.ask, lowBid: input.bid, highAsk: input.ask });
      if (this.#pending.size >= this.#maxPending) this.#onFull?.();
      return;
    }
    if (seq >= a.seq) {
      a.seq = seq;
      a.bid = input.bid;
      a.ask = input.ask;
    }
    if (input.bid < a.lowBid) a.lowBid = input.bid;
    if (input.ask > a.highAsk) a.highAsk = input.ask;
  }

  /** Take what is held (to write); the recorder starts empty again. */
  take(): MarkBucket[] {
    const out = [...this.#pending.values()];
    this.#pending.clear();
    return out;
  }

  /** Put back minutes a failed write took (merged with anything added since). */
  restore(marks: readonly MarkBucket[]): void {
    for (const m of marks) {
      this.add({ type: 'tick', seq: m.seq, ts: m.bucket, symbol: m.symbol, bid: m.bid, ask: m.ask });
      const a = this.#pending.get(`${m.symbol}\u0000${m.bucket}`)!;
      a.lowBid = Math.min(a.lowBid, m.lowBid);
      a.highAsk = Math.max(a.highAsk, m.highAsk);
    }
  }
}
