/**
 * Dedupe keys of quotes for venues whose own sequence numbers are per
 * connection (Coinbase Advanced Trade `sequence_num`, Kalshi `seq` per
 * subscription, Polymarket none): two connectors on the same venue must give
 * the same quote the same `Nats-Msg-Id`, so the key is made of what both see
 * alike — the venue's time of the quote, its content, and how many times
 * that same content was already seen at that same venue time (so a top that
 * goes A → B → A within one venue timestamp is published three times, not
 * two). Venues with a global sequence (Binance `u`) use it instead.
 */
import type { NormalizedQuote } from './normalized-quote.js';

interface SameTime { ts: number; readonly counts: Map<string, number> }

/** FNV-1a 32-bit of a string, as 8 hex digits (short, stable, no crypto needed for a dedupe key). */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Keys per symbol; memory is one venue timestamp's worth per symbol. */
export class QuoteKeys {
  readonly #last = new Map<string, SameTime>();

  /** `<ts>.<content hash>.<occurrence>` of a quote, e.g. `1735689600000.1f3a9c2e.0`. */
  key(q: NormalizedQuote): string {
    const content = fnv1a(`${q.bid}|${q.ask}|${q.bidSize ?? ''}|${q.askSize ?? ''}`);
    let same = this.#last.get(q.symbol);
    if (same === undefined) this.#last.set(q.symbol, (same = { ts: q.ts, counts: new Map() }));
    if (same.ts !== q.ts) {
      same.ts = q.ts;
      same.counts.clear();
    }
    const n = same.counts.get(content) ?? 0;
    same.counts.set(content, n + 1);
    return `${q.ts}.${content}.${n}`;
  }
}
