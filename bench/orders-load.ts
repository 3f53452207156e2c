/**
 * What the orders bench drives its node with and measures it by: ticks at a
 * fixed rate on the node's in-process market log, the node's own journal
 * writes timed batch by batch, and CPU time per thread and per process.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { ShardJournalAppend, ShardJournalAppendResult } from '../engine/index.js';
import { PgShardJournal } from '../persistence/index.js';
import type { MemoryMarketLog } from '../transport/memory/index.js';

/** The symbols orders and ticks use, their opening prices, and an order's quantity on each (about $600). */
export const SYMBOLS = ['BTC-USD', 'ETH-USD', 'SOL-USD'];
export const QTY = [0.01, 0.2, 4];
/** Feed time of the first input. */
export const T0 = Date.parse('2026-03-02T08:00:00Z');

/** One journal write of the node: when it started and ended, its entries, and the first position it wrote. */
export interface TimedBatch {
  readonly t0: number;
  readonly t1: number;
  readonly size: number;
  readonly first: number;
}

/**
 * Times every `PgShardJournal.appendBatch` of the process from outside: the
 * node composes its own journal, as production does, so the class's method
 * is wrapped while the bench runs (`uninstall` puts it back). Calls on the
 * instance `skip` names (the bench's own bare writes) are not recorded.
 */
export class JournalTimer {
  readonly batches: TimedBatch[] = [];
  #restore: (() => void) | undefined;

  install(skip: (journal: PgShardJournal) => boolean): void {
    const proto = PgShardJournal.prototype;
    const original = proto.appendBatch;
    const batches = this.batches;
    proto.appendBatch = async function timed(
      this: PgShardJournal,
      entries: readonly ShardJournalAppend[],
    ): Promise<ShardJournalAppendResult[]> {
      if (skip(this)) return original.call(this, entries);
      const t0 = performance.now();
      const r = await original.call(this, entries);
      let first = Infinity;
      for (const x of r)
        if (x.ok) {
          first = x.position;
          break;
        }
      batches.push({ t0, t1: performance.now(), size: entries.length, first });
      return r;
    };
    this.#restore = () => {
      proto.appendBatch = original;
    };
  }

  uninstall(): void {
    this.#restore?.();
    this.#restore = undefined;
  }
}

/** Ticks on 3 symbols at a fixed rate (a tiny random walk), a clock input each second, and the pump's lag behind them. */
export class Ticker {
  readonly prices = [60_000, 3_000, 150];
  readonly #market: MemoryMarketLog;
  readonly #rate: number;
  readonly #applied: () => number;
  #published = 0;
  #t0 = 0;
  #second = 0;
  #timer: NodeJS.Timeout | undefined;
  maxLag = 0;

  constructor(market: MemoryMarketLog, rate: number, applied: () => number) {
    this.#market = market;
    this.#rate = rate;
    this.#applied = applied;
  }

  publish(s: number, ts: number): void {
    const p = (this.prices[s]! *= 1 + (Math.random() - 0.5) * 1e-4);
    this.#market.publish({ type: 'tick', symbol: SYMBOLS[s]!, ts, bid: p * 0.99995, ask: p * 1.00005 });
  }

  start(): void {
    this.#t0 = performance.now();
    this.#published = 0;
    this.#timer = setInterval(() => {
      const due = Math.floor(((performance.now() - this.#t0) * this.#rate) / 1000);
      this.maxLag = Math.max(this.maxLag, this.#market.lastSeq - this.#applied());
      const now = T0 + Math.round(performance.now());
      if (Math.floor(now / 1000) > this.#second)
        this.#market.publish({ type: 'clock', time: (this.#second = Math.floor(now / 1000)) * 1000 });
      while (this.#published < due) this.publish(this.#published++ % 3, now);
    }, 10);
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}

/** CPU ms of some processes so far, from /proc (Linux; NaN elsewhere). */
export function procCpuMs(paths: readonly string[]): number {
  let ticks = 0;
  for (const p of paths) {
    try {
      const text = readFileSync(p, 'utf8');
      const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
      ticks += Number(f[11]) + Number(f[12]); // utime, stime
    } catch {
      return NaN;
    }
  }
  return ticks * 10; // USER_HZ = 100
}

/** The p-th percentile (nearest rank). */
export function pct(xs: ArrayLike<number>, p: number): number {
  const s = Float64Array.from(xs).sort();
  return s.length === 0 ? NaN : s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
