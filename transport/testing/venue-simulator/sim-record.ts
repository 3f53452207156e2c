/**
 * The simulator's own record of what it sent on each connection — good
 * updates with the top of book they leave, bad ones with the reason a
 * correct connector must hold them for, and updates a connector must drop
 * while it resyncs — and what that record says the market stream should
 * hold. Test code only.
 */
import type { HoldReason } from '../../market-data/index.js';

/** A top of book in the engine's units (a binary share 0..1). */
export interface Top {
  readonly bid: number;
  readonly ask: number;
  readonly bidSize?: number;
  readonly askSize?: number;
}

/** One message sent on one connection. */
export interface SentEntry {
  readonly conn: number;
  /** Venue instrument id, or '' when the message names none of ours. */
  readonly instrument: string;
  /** good: its top must be published (unless equal to the last published); bad: held for `reason`. */
  readonly kind: 'good' | 'bad';
  /** The top of book the message leaves (good, and bad quote-level holds). */
  readonly top?: Top;
  /** Why a bad message is held. */
  readonly reason?: HoldReason;
  /** Quote-level reasons are counted once per engine symbol of the instrument; message-level ones once. */
  readonly perSymbol?: boolean;
}

/** Engine symbols and tops one venue top stands for (a Kalshi market: YES and, if mapped, NO). */
export type Expand = (instrument: string, top: Top) => ReadonlyArray<readonly [symbol: string, top: Top]>;

/** Reasons held only at message level (counted once per message). */
const MESSAGE_LEVEL: ReadonlySet<HoldReason> = new Set(['MALFORMED_MESSAGE', 'UNKNOWN_INSTRUMENT', 'SEQUENCE_GAP', 'AWAITING_SNAPSHOT']);

/** See the module comment. */
export class SimRecord {
  readonly entries: SentEntry[] = [];

  good(conn: number, instrument: string, top: Top | undefined): void {
    this.entries.push(top === undefined ? { conn, instrument, kind: 'good' } : { conn, instrument, kind: 'good', top });
  }

  /** A bad message; with the `top` it leaves when the hold is the quote's (counted per engine symbol), without when the message is refused whole. */
  bad(conn: number, instrument: string, reason: HoldReason, top?: Top): void {
    this.entries.push({
      conn,
      instrument,
      kind: 'bad',
      reason,
      perSymbol: top !== undefined && !MESSAGE_LEVEL.has(reason),
      ...(top === undefined ? {} : { top }),
    });
  }

  /** Good tops per engine symbol in send order, consecutive equal ones collapsed: what the stream must hold. */
  expected(expand: Expand): Map<string, Top[]> {
    const out = new Map<string, Top[]>();
    for (const e of this.entries) {
      if (e.kind !== 'good' || e.top === undefined) continue;
      if (e.top.bid > e.top.ask) continue; // a one-sided or crossed "good" top publishes nothing (the simulator never makes one)
      for (const [symbol, top] of expand(e.instrument, e.top)) {
        const list = out.get(symbol) ?? [];
        const last = list[list.length - 1];
        if (last === undefined || !sameTop(last, top)) list.push(top);
        out.set(symbol, list);
      }
    }
    return out;
  }

  /** Holds by reason a correct connector counts. `symbolsOf` says how many engine symbols an instrument quotes. */
  holds(symbolsOf: (instrument: string) => number): Map<HoldReason, number> {
    const out = new Map<HoldReason, number>();
    for (const e of this.entries) {
      if (e.kind !== 'bad' || e.reason === undefined) continue;
      out.set(e.reason, (out.get(e.reason) ?? 0) + (e.perSymbol ? symbolsOf(e.instrument) : 1));
    }
    return out;
  }
}

/** Same prices and sizes. */
export function sameTop(a: Top, b: Top): boolean {
  return (
    a.bid === b.bid &&
    a.ask === b.ask &&
    (a.bidSize ?? undefined) === (b.bidSize ?? undefined) &&
    (a.askSize ?? undefined) === (b.askSize ?? undefined)
  );
}

/** Price levels of one side of a simulated book. */
export class SimBook {
  readonly bids = new Map<number, number>();
  readonly asks = new Map<number, number>();

  set(side: 'bid' | 'ask', price: number, size: number): void {
    const m = side === 'bid' ? this.bids : this.asks;
    if (size <= 0) m.delete(price);
    else m.set(price, size);
  }

  bestBid(): [number, number] | undefined {
    let best: [number, number] | undefined;
    for (const [p, s] of this.bids) if (best === undefined || p > best[0]) best = [p, s];
    return best;
  }

  bestAsk(): [number, number] | undefined {
    let best: [number, number] | undefined;
    for (const [p, s] of this.asks) if (best === undefined || p < best[0]) best = [p, s];
    return best;
  }

  top(): Top | undefined {
    const b = this.bestBid();
    const a = this.bestAsk();
    if (b === undefined || a === undefined) return undefined;
    return { bid: b[0], ask: a[0], bidSize: b[1], askSize: a[1] };
  }

  clone(): SimBook {
    const c = new SimBook();
    for (const [p, s] of this.bids) c.bids.set(p, s);
    for (const [p, s] of this.asks) c.asks.set(p, s);
    return c;
  }
}

/** Kinds of bad traffic a simulator can send. */
export type BadKind = 'malformed' | 'out-of-range' | 'crossed' | 'locked' | 'stale' | 'future' | 'spike' | 'gap' | 'unknown-instrument';
