/**
 * Coinbase Advanced Trade `level2` channel (frames carry `channel:
 * "l2_data"`) → {@link NormalizedQuote}. Each frame's events are
 * `{type: "snapshot" | "update", product_id, updates: [{side: "bid" | "offer",
 * event_time, price_level, new_quantity}]}`; `new_quantity` is the level's new
 * size ("0" removes it). A snapshot replaces the product's book; updates to a
 * product whose book waits for a snapshot are refused (after a gap).
 */
import { z } from 'zod';
import { LocalBook } from './local-book.js';
import {
  IsoTime,
  parseVenueMessage,
  PriceString,
  SizeString,
  TopOfBookMemory,
  type NormalizedQuote,
  type SymbolMap,
} from './normalized-quote.js';

const L2Frame = z.object({
  channel: z.literal('l2_data'),
  timestamp: IsoTime,
  sequence_num: z.number().int().nonnegative(),
  events: z.array(
    z.object({
      type: z.enum(['snapshot', 'update']),
      product_id: z.string().min(1),
      updates: z.array(
        z.object({ side: z.enum(['bid', 'offer']), event_time: IsoTime, price_level: PriceString, new_quantity: SizeString }),
      ),
    }),
  ),
});

/** What one l2_data frame did. */
export interface Level2Result {
  readonly quotes: NormalizedQuote[];
  /** Products with an event in the frame (alive), mapped ones only. */
  readonly products: string[];
  /** Products whose updates were refused because their book waits for a snapshot. */
  readonly awaiting: string[];
}

/** Options of {@link CoinbaseLevel2Normalizer}. */
export interface CoinbaseLevel2NormalizerOptions {
  /** Coinbase `product_id` → engine symbol. */
  readonly symbols: SymbolMap;
  /**
   * Emit the top after every update, moved or not (a connector's guard then
   * skips what equals the last quote published). @default false: an update
   * that leaves the top as it was yields []
   */
  readonly everyUpdate?: boolean;
}

/** Local books of the level2 channel; see the module comment. */
export class CoinbaseLevel2Normalizer {
  readonly #symbols: SymbolMap;
  readonly #books = new Map<string, LocalBook>();
  readonly #awaiting = new Set<string>();
  readonly #memory: TopOfBookMemory;

  constructor(options: CoinbaseLevel2NormalizerOptions) {
    this.#memory = new TopOfBookMemory({ always: options.everyUpdate ?? false });
    if (options.symbols.venue !== 'coinbase')
      throw new Error(`CoinbaseLevel2Normalizer needs a coinbase symbol map, got ${options.symbols.venue}`);
    this.#symbols = options.symbols;
  }

  /** Refuse updates of these products until their next snapshot. */
  awaitSnapshot(productIds: Iterable<string>): void {
    for (const id of productIds) this.#awaiting.add(id);
  }

  /** Products waiting for a snapshot. */
  awaitingSnapshot(): string[] {
    return [...this.#awaiting];
  }

  /**
   * Apply one l2_data frame (parsed JSON). A quote's `ts` is the latest
   * `event_time` of its product's updates in the frame (the frame's timestamp
   * for an empty event).
   * @throws MalformedVenueMessageError, UnknownInstrumentError
   */
  normalize(frame: unknown): Level2Result {
    const f = parseVenueMessage('coinbase', L2Frame, frame);
    for (const e of f.events) this.#symbols.resolve(e.product_id); // all or nothing: an unmapped product refuses the frame
    const touched = new Map<string, number>();
    const products: string[] = [];
    const awaiting: string[] = [];
    for (const e of f.events) {
      products.push(e.product_id);
      if (e.type === 'update' && (this.#awaiting.has(e.product_id) || !this.#books.has(e.product_id))) {
        this.#awaiting.add(e.product_id);
        awaiting.push(e.product_id);
        continue;
      }
      const book = this.#books.get(e.product_id) ?? new LocalBook();
      this.#books.set(e.product_id, book);
      if (e.type === 'snapshot') {
        book.replace(
          e.updates.filter((u) => u.side === 'bid').map((u) => ({ price: u.price_level, size: u.new_quantity })),
          e.updates.filter((u) => u.side === 'offer').map((u) => ({ price: u.price_level, size: u.new_quantity })),
        );
        this.#awaiting.delete(e.product_id);
        this.#memory.forget(this.#symbols.resolve(e.product_id));
      } else {
        for (const u of e.updates) book.set(u.side === 'bid' ? 'bid' : 'ask', u.price_level, u.new_quantity);
      }
      const ts = e.updates.reduce((t, u) => Math.max(t, u.event_time), 0) || f.timestamp;
      touched.set(e.product_id, Math.max(touched.get(e.product_id) ?? 0, ts));
    }
    const quotes: NormalizedQuote[] = [];
    for (const [id, ts] of touched) {
      const book = this.#books.get(id)!;
      const bid = book.bestBid();
      const ask = book.bestAsk();
      if (bid === undefined || ask === undefined) continue; // one-sided: no quote
      const q: NormalizedQuote = {
        venue: 'coinbase',
        symbol: this.#symbols.resolve(id),
        ts,
        bid: bid.price,
        ask: ask.price,
        bidSize: bid.size,
        askSize: ask.size,
      };
      if (this.#memory.changed(q)) quotes.push(q);
    }
    return { quotes, products, awaiting };
  }
}
