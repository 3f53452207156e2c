/**
 * Kalshi WebSocket v2 → {@link NormalizedQuote}. Every frame is an envelope
 * `{type, sid, seq?, msg}`; handled types:
 * - `ticker`: `msg: {market_ticker, yes_bid, yes_ask, price, volume, ..., ts}`,
 *   prices in cents, `ts` in unix seconds;
 * - `orderbook_snapshot`: `msg: {market_ticker, yes:[[cents, qty]], no:[[cents, qty]]}`;
 * - `orderbook_delta`: `msg: {market_ticker, price, delta, side:"yes"|"no", ts?}`,
 *   `delta` added to the resting quantity at `price`.
 * `seq` counts per subscription (`sid`). The book holds bids only: a NO bid at
 * p is a YES ask at 100 − p, so YES ask = 100 − best NO bid. Prices leave as
 * 0..1. A crossed book is emitted (the connector's guard holds it back and
 * counts it). Other frames (`subscribed`, `trade`, `fill`, ...) yield [].
 */
import { z } from 'zod';
import { ISSUE_CENTS } from './data-quality.js';
import { LocalBook } from './local-book.js';
import {
  IsoTime,
  parseJson,
  parseVenueMessage,
  SequenceGapError,
  TopOfBookMemory,
  type NormalizedQuote,
  type SymbolMap,
} from './normalized-quote.js';

const Cents = z.number().int().min(1, ISSUE_CENTS).max(99, ISSUE_CENTS);
const Level = z.tuple([Cents, z.number().nonnegative()]);
/** Unix seconds, unix ms, or ISO-8601; to ms. */
const Time = z.union([
  IsoTime,
  z
    .number()
    .nonnegative()
    .transform((n) => (n < 1e12 ? n * 1000 : n)),
]);

const Envelope = z.object({ type: z.string({ error: 'expected a string type' }) });
const Sequenced = z.object({ sid: z.number().int().nonnegative(), seq: z.number().int().positive() });

const Ticker = z.object({
  type: z.literal('ticker'),
  msg: z.object({
    market_ticker: z.string().min(1),
    yes_bid: z.number().int().min(0).max(100).nullish(),
    yes_ask: z.number().int().min(0).max(100).nullish(),
    ts: Time,
  }),
});

const Snapshot = Sequenced.extend({
  type: z.literal('orderbook_snapshot'),
  msg: z.object({ market_ticker: z.string().min(1), yes: z.array(Level).nullish(), no: z.array(Level).nullish() }),
});

const Delta = Sequenced.extend({
  type: z.literal('orderbook_delta'),
  msg: z.object({
    market_ticker: z.string().min(1),
    price: Cents,
    delta: z.number().finite(),
    side: z.enum(['yes', 'no']),
    ts: Time.optional(),
  }),
});

/** Options of {@link KalshiNormalizer}. */
export interface KalshiNormalizerOptions {
  /** Kalshi `market_ticker` → engine symbol of its YES share (venue `kalshi`). */
  readonly symbols: SymbolMap;
  /** Optional `market_ticker` → engine symbol of its NO share; mapped markets also get a NO quote. */
  readonly noSymbols?: SymbolMap;
  /**
   * Emit the top after every update, moved or not (a connector's guard then
   * skips what equals the last quote published). @default false: an update
   * that leaves the top as it was yields []
   */
  readonly everyUpdate?: boolean;
}

interface Subscription {
  lastSeq: number;
  readonly markets: Set<string>;
}

/**
 * Normalizes Kalshi ticker and order-book frames, keeping one local book per
 * market. On a `seq` gap it throws {@link SequenceGapError} (the caller must
 * request a fresh snapshot) and refuses deltas for the subscription's markets
 * (they yield []) until each market's `orderbook_snapshot` arrives.
 */
export class KalshiNormalizer {
  readonly #symbols: SymbolMap;
  readonly #noSymbols: SymbolMap | undefined;
  readonly #books = new Map<string, LocalBook>();
  readonly #subscriptions = new Map<number, Subscription>();
  readonly #stale = new Set<string>();
  readonly #memory: TopOfBookMemory;

  constructor(options: KalshiNormalizerOptions) {
    this.#memory = new TopOfBookMemory({ always: options.everyUpdate ?? false });
    for (const map of [options.symbols, options.noSymbols]) {
      if (map !== undefined && map.venue !== 'kalshi') throw new Error(`KalshiNormalizer needs kalshi symbol maps, got ${map.venue}`);
    }
    this.#symbols = options.symbols;
    this.#noSymbols = options.noSymbols;
  }

  /**
   * Normalize one frame (JSON text or parsed). `receivedAt` (ms) stamps quotes
   * of frames without a time of their own (snapshots, deltas without `ts`).
   * @throws MalformedVenueMessageError, UnknownInstrumentError, SequenceGapError
   */
  normalize(message: unknown, receivedAt: number): NormalizedQuote[] {
    const json = parseJson('kalshi', message);
    const { type } = parseVenueMessage('kalshi', Envelope, json);
    if (type === 'ticker') return this.#ticker(parseVenueMessage('kalshi', Ticker, json));
    if (type === 'orderbook_snapshot') return this.#snapshot(parseVenueMessage('kalshi', Snapshot, json), receivedAt);
    if (type === 'orderbook_delta') return this.#delta(parseVenueMessage('kalshi', Delta, json), receivedAt);
    return [];
  }

  /** Market tickers whose books wait for a snapshot (after a gap, or deltas seen before any snapshot). */
  awaitingSnapshot(): string[] {
    return [...this.#stale];
  }

  #ticker({ msg }: z.output<typeof Ticker>): NormalizedQuote[] {
    this.#symbols.resolve(msg.market_ticker);
    const bid = msg.yes_bid ?? 0;
    const ask = msg.yes_ask ?? 100;
    // One-sided (no bid, or no ask) is no quote; a crossed one is emitted for the guard to hold and count.
    if (bid <= 0 || ask >= 100) return [];
    return this.#emit(msg.market_ticker, msg.ts, { price: bid, size: undefined }, { price: ask, size: undefined }, undefined);
  }

  #snapshot(frame: z.output<typeof Snapshot>, receivedAt: number): NormalizedQuote[] {
    const ticker = frame.msg.market_ticker;
    const sub = this.#subscriptions.get(frame.sid) ?? { lastSeq: frame.seq, markets: new Set<string>() };
    sub.lastSeq = frame.seq;
    this.#subscriptions.set(frame.sid, sub);
    this.#symbols.resolve(ticker); // after the seq bookkeeping: an unmapped market still consumes its seq
    sub.markets.add(ticker);
    const book = this.#books.get(ticker) ?? new LocalBook();
    book.replace(
      (frame.msg.yes ?? []).map(([price, size]) => ({ price, size })),
      (frame.msg.no ?? []).map(([price, size]) => ({ price: 100 - price, size })),
    );
    this.#books.set(ticker, book);
    this.#stale.delete(ticker);
    this.#memory.forget(this.#symbols.resolve(ticker));
    if (this.#noSymbols?.has(ticker)) this.#memory.forget(this.#noSymbols.resolve(ticker));
    return this.#fromBook(ticker, receivedAt, frame.seq);
  }

  #delta(frame: z.output<typeof Delta>, receivedAt: number): NormalizedQuote[] {
    const { market_ticker: ticker, price, delta, side, ts } = frame.msg;
    const sub = this.#subscriptions.get(frame.sid);
    if (sub === undefined) {
      this.#symbols.resolve(ticker);
      this.#stale.add(ticker);
      return [];
    }
    if (frame.seq <= sub.lastSeq) return [];
    const expected = sub.lastSeq + 1;
    sub.lastSeq = frame.seq;
    if (frame.seq !== expected) {
      if (this.#symbols.has(ticker)) sub.markets.add(ticker);
      for (const m of sub.markets) this.#stale.add(m);
      throw new SequenceGapError('kalshi', frame.sid, expected, frame.seq, [...sub.markets]);
    }
    this.#symbols.resolve(ticker); // after the seq bookkeeping: an unmapped market still consumes its seq
    sub.markets.add(ticker);
    const book = this.#books.get(ticker);
    if (book === undefined || this.#stale.has(ticker)) {
      this.#stale.add(ticker);
      return [];
    }
    if (side === 'yes') book.add('bid', price, delta);
    else book.add('ask', 100 - price, delta);
    return this.#fromBook(ticker, ts ?? receivedAt, frame.seq);
  }

  #fromBook(ticker: string, ts: number, seq: number): NormalizedQuote[] {
    const book = this.#books.get(ticker)!;
    const bid = book.bestBid();
    const ask = book.bestAsk();
    // A crossed book is emitted as is: the connector's guard holds it back and counts it.
    if (bid === undefined || ask === undefined) return [];
    return this.#emit(ticker, ts, bid, ask, seq);
  }

  /** YES quote (and NO quote when mapped) from a YES bid/ask in cents. */
  #emit(ticker: string, ts: number, bid: CentsLevel, ask: CentsLevel, seq: number | undefined): NormalizedQuote[] {
    const quotes: NormalizedQuote[] = [quote(this.#symbols.resolve(ticker), ts, bid, ask, seq)];
    if (this.#noSymbols?.has(ticker)) {
      const noBid = { price: 100 - ask.price, size: ask.size };
      const noAsk = { price: 100 - bid.price, size: bid.size };
      quotes.push(quote(this.#noSymbols.resolve(ticker), ts, noBid, noAsk, seq));
    }
    return quotes.filter((q) => this.#memory.changed(q));
  }
}

interface CentsLevel {
  readonly price: number;
  readonly size: number | undefined;
}

function quote(symbol: string, ts: number, bid: CentsLevel, ask: CentsLevel, seq: number | undefined): NormalizedQuote {
  return {
    venue: 'kalshi',
    symbol,
    ts,
    bid: bid.price / 100,
    ask: ask.price / 100,
    ...(bid.size !== undefined ? { bidSize: bid.size } : {}),
    ...(ask.size !== undefined ? { askSize: ask.size } : {}),
    ...(seq !== undefined ? { venueSeq: seq } : {}),
  };
}
