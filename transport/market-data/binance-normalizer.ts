/**
 * Binance `<symbol>@bookTicker` stream → {@link NormalizedQuote}. The
 * documented payload is `{u, s, b, B, a, A}` (order book update id, symbol,
 * best bid price, best bid qty, best ask price, best ask qty), all prices and
 * quantities as decimal strings; the futures variant adds `e`, `E` (event
 * time) and `T`. Combined-stream frames (`{stream, data}`) are unwrapped;
 * subscription replies (`{result, id}`) yield [].
 */
import { z } from 'zod';
import { ISSUE_CROSSED } from './data-quality.js';
import {
  parseJson,
  parseVenueMessage,
  PriceString,
  SizeString,
  TopOfBookMemory,
  type NormalizedQuote,
  type SymbolMap,
} from './normalized-quote.js';

const BookTicker = z
  .object({
    u: z.number().int().nonnegative(),
    s: z.string().min(1),
    b: PriceString,
    B: SizeString,
    a: PriceString,
    A: SizeString,
    E: z.number().int().nonnegative().optional(),
  })
  .refine((t) => t.a >= t.b, { message: ISSUE_CROSSED, path: ['a'] });

/** Options of {@link BinanceNormalizer}. */
export interface BinanceNormalizerOptions {
  /** Binance symbol (upper case, e.g. `BTCUSDT`) → engine symbol (venue `binance`). */
  readonly symbols: SymbolMap;
  /**
   * Emit the top after every update, moved or not (a connector's guard then
   * skips what equals the last quote published). @default false: an update
   * that leaves the top as it was yields []
   */
  readonly everyUpdate?: boolean;
}

/**
 * Normalizes Binance bookTicker messages. Keeps, per symbol, the last update
 * id `u` (a repeated or older update yields []) and the last emitted top of
 * book (an update that did not move it yields []).
 */
export class BinanceNormalizer {
  readonly #symbols: SymbolMap;
  readonly #lastUpdate = new Map<string, number>();
  readonly #memory: TopOfBookMemory;

  constructor(options: BinanceNormalizerOptions) {
    this.#memory = new TopOfBookMemory({ always: options.everyUpdate ?? false });
    if (options.symbols.venue !== 'binance') throw new Error(`BinanceNormalizer needs a binance symbol map, got ${options.symbols.venue}`);
    this.#symbols = options.symbols;
  }

  /**
   * Normalize one message (JSON text or parsed). The spot bookTicker carries
   * no time, so the quote's `ts` is the futures event time `E` if present,
   * else `receivedAt` (ms since epoch).
   * @throws MalformedVenueMessageError, UnknownInstrumentError
   */
  normalize(message: unknown, receivedAt: number): NormalizedQuote[] {
    const json = parseJson('binance', message);
    const frame = typeof json === 'object' && json !== null ? (json as Record<string, unknown>) : {};
    if ('result' in frame && 'id' in frame && !('u' in frame)) return [];
    const payload = typeof frame['stream'] === 'string' && 'data' in frame ? frame['data'] : json;
    const t = parseVenueMessage('binance', BookTicker, payload);
    const symbol = this.#symbols.resolve(t.s);
    const last = this.#lastUpdate.get(t.s);
    if (last !== undefined && t.u <= last) return [];
    this.#lastUpdate.set(t.s, t.u);
    const quote: NormalizedQuote = {
      venue: 'binance',
      symbol,
      ts: t.E ?? receivedAt,
      bid: t.b,
      ask: t.a,
      ...(t.B > 0 ? { bidSize: t.B } : {}),
      ...(t.A > 0 ? { askSize: t.A } : {}),
      venueSeq: t.u,
    };
    return this.#memory.changed(quote) ? [quote] : [];
  }
}
