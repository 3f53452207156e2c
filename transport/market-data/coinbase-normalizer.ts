/**
 * Coinbase `ticker` channel → {@link NormalizedQuote}. Accepts both documented
 * formats: the Exchange WebSocket feed (`{"type":"ticker", product_id,
 * sequence, time, best_bid, best_bid_size, best_ask, best_ask_size, ...}`) and
 * Advanced Trade (`{"channel":"ticker", timestamp, sequence_num, events:
 * [{type, tickers: [{product_id, best_bid, best_bid_quantity, best_ask,
 * best_ask_quantity, ...}]}]}`). Other messages (subscriptions, heartbeats)
 * carry no quote and yield [].
 */
import { z } from 'zod';
import { ISSUE_CROSSED } from './data-quality.js';
import {
  IsoTime,
  MalformedVenueMessageError,
  parseJson,
  parseVenueMessage,
  PriceString,
  SizeString,
  TopOfBookMemory,
  type NormalizedQuote,
  type SymbolMap,
} from './normalized-quote.js';

const ExchangeTicker = z
  .object({
    type: z.literal('ticker'),
    product_id: z.string().min(1),
    sequence: z.number().int().nonnegative(),
    time: IsoTime,
    best_bid: PriceString,
    best_ask: PriceString,
    best_bid_size: SizeString.optional(),
    best_ask_size: SizeString.optional(),
  })
  .refine((t) => t.best_ask >= t.best_bid, { message: ISSUE_CROSSED, path: ['best_ask'] });

const AdvancedTicker = z
  .object({
    product_id: z.string().min(1),
    best_bid: PriceString,
    best_ask: PriceString,
    best_bid_quantity: SizeString.optional(),
    best_ask_quantity: SizeString.optional(),
  })
  .refine((t) => t.best_ask >= t.best_bid, { message: ISSUE_CROSSED, path: ['best_ask'] });

const AdvancedMessage = z.object({
  channel: z.literal('ticker'),
  timestamp: IsoTime,
  sequence_num: z.number().int().nonnegative(),
  events: z.array(z.object({ type: z.string(), tickers: z.array(AdvancedTicker) })),
});

/** Any JSON object: used to tell ticker messages from the channel's other messages. */
const Envelope = z.object({ type: z.string().optional(), channel: z.string().optional() });

/** Options of {@link CoinbaseNormalizer}. */
export interface CoinbaseNormalizerOptions {
  /** Coinbase `product_id` → engine symbol (venue `coinbase`). */
  readonly symbols: SymbolMap;
  /**
   * Emit the top after every update, moved or not (a connector's guard then
   * skips what equals the last quote published). @default false: an update
   * that leaves the top as it was yields []
   */
  readonly everyUpdate?: boolean;
}

/**
 * Normalizes Coinbase ticker messages. Keeps, per product, the last Exchange
 * `sequence` (older or repeated messages yield []) and the last emitted top of
 * book (a ticker that did not move it yields []).
 */
export class CoinbaseNormalizer {
  readonly #symbols: SymbolMap;
  readonly #lastSequence = new Map<string, number>();
  readonly #memory: TopOfBookMemory;

  constructor(options: CoinbaseNormalizerOptions) {
    this.#memory = new TopOfBookMemory({ always: options.everyUpdate ?? false });
    if (options.symbols.venue !== 'coinbase')
      throw new Error(`CoinbaseNormalizer needs a coinbase symbol map, got ${options.symbols.venue}`);
    this.#symbols = options.symbols;
  }

  /**
   * Normalize one message (JSON text or parsed). `receivedAt` (ms) is unused
   * here since Coinbase tickers carry their own time; it keeps the normalizers'
   * signatures alike.
   * @throws MalformedVenueMessageError, UnknownInstrumentError
   */
  normalize(message: unknown, receivedAt?: number): NormalizedQuote[] {
    void receivedAt;
    const json = parseJson('coinbase', message);
    const envelope = parseVenueMessage('coinbase', Envelope, json);
    if (envelope.type === 'ticker') return this.#exchange(parseVenueMessage('coinbase', ExchangeTicker, json));
    if (envelope.channel === 'ticker') return this.#advanced(parseVenueMessage('coinbase', AdvancedMessage, json));
    if (envelope.type === undefined && envelope.channel === undefined) {
      throw new MalformedVenueMessageError('coinbase', ['type: expected a "type" (Exchange) or "channel" (Advanced Trade) field']);
    }
    return [];
  }

  #exchange(t: z.output<typeof ExchangeTicker>): NormalizedQuote[] {
    const symbol = this.#symbols.resolve(t.product_id);
    const last = this.#lastSequence.get(t.product_id);
    if (last !== undefined && t.sequence <= last) return [];
    this.#lastSequence.set(t.product_id, t.sequence);
    return this.#emit({
      venue: 'coinbase',
      symbol,
      ts: t.time,
      bid: t.best_bid,
      ask: t.best_ask,
      ...sizes(t.best_bid_size, t.best_ask_size),
      venueSeq: t.sequence,
    });
  }

  #advanced(m: z.output<typeof AdvancedMessage>): NormalizedQuote[] {
    const tickers = m.events.flatMap((e) => e.tickers);
    const symbols = tickers.map((t) => this.#symbols.resolve(t.product_id));
    return tickers.flatMap((t, i) =>
      this.#emit({
        venue: 'coinbase',
        symbol: symbols[i]!,
        ts: m.timestamp,
        bid: t.best_bid,
        ask: t.best_ask,
        ...sizes(t.best_bid_quantity, t.best_ask_quantity),
        venueSeq: m.sequence_num,
      }),
    );
  }

  #emit(quote: NormalizedQuote): NormalizedQuote[] {
    return this.#memory.changed(quote) ? [quote] : [];
  }
}

/** Displayed sizes; a zero size means "not shown" and is left out. */
function sizes(bidSize: number | undefined, askSize: number | undefined): { bidSize?: number; askSize?: number } {
  return { ...(bidSize ? { bidSize } : {}), ...(askSize ? { askSize } : {}) };
}
