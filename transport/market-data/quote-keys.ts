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

/** FNV-1a 32-bit of a string, as 8 hex digits (short, stable, no crypto needed for a dedupe key). */
export function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

/** Venue timestamps remembered per symbol (a quote stamped further back than this many distinct times counts from 0 again). */
const REMEMBERED_TIMES = 256;

/**
 * Keys per symbol. Occurrences are counted per (venue time, content) over the
 * last {@link REMEMBERED_TIMES} distinct venue times of the symbol, so a
 * quote stamped out of order (late, or ahead) does not reset the count of
 * the times around it. Memory: bounded per symbol.
 */
export class QuoteKeys {
  readonly #seen = new Map<string, Map<number, Map<string, number>>>();

  /** `<ts>.<content hash>.<occurrence>` of a quote, e.g. `1735689600000.1f3a9c2e.0`. */
  key(q: NormalizedQuote): string {
    const content = fnv1a(`${q.bid}|${q.ask}|${q.bidSize ?? ''}|${q.askSize ?? ''}`);
    let times = this.#seen.get(q.symbol);
    if (times === undefined) this.#seen.set(q.symbol, (times = new Map()));
    let counts = times.get(q.ts);
    if (counts === undefined) {
      times.set(q.ts, (counts = new Map()));
      if (times.size > REMEMBERED_TIMES) times.delete(times.keys().next().value!);
    }
    const n = counts.get(content) ?? 0;
    counts.set(content, n + 1);
    return `${q.ts}.${content}.${n}`;
  }
}
