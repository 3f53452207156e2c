/**
 * Ticks cross to the shards packed in a Float64Array: every shard receives
 * every tick, and copying one typed array per shard costs a memcpy where
 * structured-cloning tick objects costs a walk per field. Symbols travel as
 * ids into a table that only grows.
 */
import type { Tick } from '../actors/index.js';

/** Doubles per tick: i, seq, ts, symbol id, bid, ask, bidSize, askSize (NaN when absent), event coordinate. */
export const TICK_STRIDE = 9;

/** Main-thread side: packs ticks in submission order. */
export class TickPacker {
  readonly #ids = new Map<string, number>();
  readonly #table: string[] = [];
  #buf = new Float64Array(TICK_STRIDE * 512);
  #n = 0;
  #tableSent = 0;

  get count(): number {
    return this.#n;
  }

  /** @param at the tick's event coordinate (see `SequencedInput.at`) */
  push(i: number, t: Tick, at: number = i): void {
    let id = this.#ids.get(t.symbol);
    if (id === undefined) {
      id = this.#table.length;
      this.#ids.set(t.symbol, id);
      this.#table.push(t.symbol);
    }
    if ((this.#n + 1) * TICK_STRIDE > this.#buf.length) {
      const bigger = new Float64Array(this.#buf.length * 2);
      bigger.set(this.#buf);
      this.#buf = bigger;
    }
    const o = this.#n++ * TICK_STRIDE;
    const b = this.#buf;
    b[o] = i;
    b[o + 1] = t.seq;
    b[o + 2] = t.ts;
    b[o + 3] = id;
    b[o + 4] = t.bid;
    b[o + 5] = t.ask;
    b[o + 6] = t.bidSize ?? NaN;
    b[o + 7] = t.askSize ?? NaN;
    b[o + 8] = at;
  }

  /** The packed ticks since the last call, and symbols added to the table since then. */
  take(): { ticks: Float64Array; newSymbols: string[] } | undefined {
    if (this.#n === 0) return undefined;
    const ticks = this.#buf.slice(0, this.#n * TICK_STRIDE);
    this.#n = 0;
    const newSymbols = this.#table.slice(this.#tableSent);
    this.#tableSent = this.#table.length;
    return { ticks, newSymbols };
  }
}
