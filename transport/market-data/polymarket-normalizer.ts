/**
 * Polymarket CLOB `market` channel → {@link NormalizedQuote}. Keeps a local
 * book per asset (outcome token) from the documented events:
 * - `book`: `{event_type:"book", asset_id, market, bids:[{price,size}],
 *   asks:[{price,size}], timestamp, hash}`, a full snapshot of one asset;
 * - `price_change`: `{event_type:"price_change", market, timestamp,
 *   price_changes:[{asset_id, price, size, side, hash, best_bid, best_ask}]}`
 *   (the current format) or the earlier `{event_type:"price_change", asset_id,
 *   market, changes:[{price, side, size}], timestamp, hash}`. `size` is the new
 *   total at that price (`"0"` removes the level); BUY is the bid side.
 * Prices are decimal strings in (0, 1), timestamps ms as strings. A frame may be
 * one event or an array of them; other event types (`last_trade_price`,
 * `tick_size_change`, ...) yield [].
 */
import { z } from 'zod';
import { ISSUE_PROBABILITY } from './data-quality.js';
import { LocalBook, type BookSide } from './local-book.js';
import {
  DecimalString,
  MalformedVenueMessageError,
  parseJson,
  parseVenueMessage,
  SizeString,
  TopOfBookMemory,
  type NormalizedQuote,
  type SymbolMap,
} from './normalized-quote.js';

const Probability = DecimalString.refine((n) => n > 0 && n < 1, ISSUE_PROBABILITY);
const MsTime = z.union([z.string().regex(/^\d+$/, 'ms since epoch as a string').transform(Number), z.number().int().nonnegative()]);
const Level = z.object({ price: Probability, size: SizeString });
const Side = z.enum(['BUY', 'SELL']);

const BookEvent = z.object({
  event_type: z.literal('book'),
  asset_id: z.string().min(1),
  market: z.string().min(1),
  bids: z.array(Level),
  asks: z.array(Level),
  timestamp: MsTime,
  hash: z.string().optional(),
});

const PriceChangeEvent = z.object({
  event_type: z.literal('price_change'),
  market: z.string().min(1),
  timestamp: MsTime,
  price_changes: z.array(
    z.object({ asset_id: z.string().min(1), price: Probability, size: SizeString, side: Side, hash: z.string().optional() }),
  ),
});

const LegacyPriceChangeEvent = z.object({
  event_type: z.literal('price_change'),
  asset_id: z.string().min(1),
  market: z.string().min(1),
  timestamp: MsTime,
  changes: z.array(z.object({ price: Probability, size: SizeString, side: Side })),
  hash: z.string().optional(),
});

const Envelope = z.object({ event_type: z.string({ error: 'expected a string event_type' }) });

/** Market-channel events that carry no book change. */
const IGNORED = new Set(['last_trade_price', 'tick_size_change', 'best_bid_ask', 'new_market', 'market_resolved']);

interface LevelChange {
  readonly assetId: string;
  readonly side: BookSide;
  readonly price: number;
  readonly size: number;
}

/** Options of {@link PolymarketNormalizer}. */
export interface PolymarketNormalizerOptions {
  /** Polymarket `asset_id` (outcome token id) → engine symbol, e.g. `PM:FED-DEC-CUT:YES` (venue `polymarket`). */
  readonly symbols: SymbolMap;
  /**
   * Emit the top after every update, moved or not (a connector's guard then
   * skips what equals the last quote published). @default false: an update
   * that leaves the top as it was yields []
   */
  readonly everyUpdate?: boolean;
}

/**
 * Normalizes Polymarket market-channel events. A quote is emitted for an asset
 * when its book has both a bid and an ask and the top changed (a crossed top
 * too: the connector's guard holds it back and counts it).
 * `price_change` for an asset whose `book` has not arrived yet is ignored
 * (Polymarket sends `book` first on subscribe).
 */
export class PolymarketNormalizer {
  readonly #symbols: SymbolMap;
  readonly #books = new Map<string, LocalBook>();
  readonly #memory: TopOfBookMemory;

  constructor(options: PolymarketNormalizerOptions) {
    this.#memory = new TopOfBookMemory({ always: options.everyUpdate ?? false });
    if (options.symbols.venue !== 'polymarket')
      throw new Error(`PolymarketNormalizer needs a polymarket symbol map, got ${options.symbols.venue}`);
    this.#symbols = options.symbols;
  }

  /**
   * Normalize one frame (JSON text or parsed; one event or an array).
   * `receivedAt` is unused: every book event carries its own timestamp.
   * @throws MalformedVenueMessageError, UnknownInstrumentError
   */
  normalize(message: unknown, receivedAt?: number): NormalizedQuote[] {
    void receivedAt;
    const json = parseJson('polymarket', message);
    if (Array.isArray(json)) return json.flatMap((event) => this.#event(event));
    return this.#event(json);
  }

  /** The local book of an asset, if its snapshot has arrived (read-only use). */
  book(assetId: string): LocalBook | undefined {
    return this.#books.get(assetId);
  }

  #event(json: unknown): NormalizedQuote[] {
    const { event_type: type } = parseVenueMessage('polymarket', Envelope, json);
    if (type === 'book') {
      const e = parseVenueMessage('polymarket', BookEvent, json);
      this.#symbols.resolve(e.asset_id);
      const book = this.#books.get(e.asset_id) ?? new LocalBook();
      book.replace(e.bids, e.asks);
      this.#books.set(e.asset_id, book);
      this.#memory.forget(this.#symbols.resolve(e.asset_id));
      return this.#quote(e.asset_id, e.timestamp);
    }
    if (type === 'price_change') {
      const isCurrent = typeof json === 'object' && json !== null && 'price_changes' in json;
      let changes: LevelChange[];
      let ts: number;
      if (isCurrent) {
        const e = parseVenueMessage('polymarket', PriceChangeEvent, json);
        changes = e.price_changes.map((c) => ({ assetId: c.asset_id, side: sideOf(c.side), price: c.price, size: c.size }));
        ts = e.timestamp;
      } else {
        const e = parseVenueMessage('polymarket', LegacyPriceChangeEvent, json);
        changes = e.changes.map((c) => ({ assetId: e.asset_id, side: sideOf(c.side), price: c.price, size: c.size }));
        ts = e.timestamp;
      }
      for (const c of changes) this.#symbols.resolve(c.assetId);
      const touched = new Set<string>();
      for (const c of changes) {
        const book = this.#books.get(c.assetId);
        if (book === undefined) continue;
        book.set(c.side, c.price, c.size);
        touched.add(c.assetId);
      }
      return [...touched].flatMap((assetId) => this.#quote(assetId, ts));
    }
    if (IGNORED.has(type)) return [];
    throw new MalformedVenueMessageError('polymarket', [`event_type: unknown market-channel event "${type}"`]);
  }

  #quote(assetId: string, ts: number): NormalizedQuote[] {
    const book = this.#books.get(assetId)!;
    const bid = book.bestBid();
    const ask = book.bestAsk();
    // A crossed book is emitted as is: the connector's guard holds it back and counts it.
    if (bid === undefined || ask === undefined) return [];
    const quote: NormalizedQuote = {
      venue: 'polymarket',
      symbol: this.#symbols.resolve(assetId),
      ts,
      bid: bid.price,
      ask: ask.price,
      bidSize: bid.size,
      askSize: ask.size,
    };
    return this.#memory.changed(quote) ? [quote] : [];
  }
}

function sideOf(side: 'BUY' | 'SELL'): BookSide {
  return side === 'BUY' ? 'bid' : 'ask';
}
