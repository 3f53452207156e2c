/**
 * Binance spot `<symbol>@bookTicker` over one combined-stream connection
 * (`/stream?streams=a@bookTicker/b@bookTicker`): the subscription is the URL,
 * so no subscribe message is sent. The server pings every 20 s (the `ws`
 * client answers), cuts every connection at 24 h, and may announce a
 * `serverShutdown`: the connection is replaced before either, make before
 * break. `u` (the book's update id) is the same on every connection, so it
 * is the dedupe key and orders a symbol's quotes across connections.
 */
import { BinanceNormalizer } from './binance-normalizer.js';
import type { SymbolMap } from './normalized-quote.js';
import { field, normalizing, parseFrame } from './session-helpers.js';
import type { SessionContext, VenueProtocol, VenueSession } from './venue-protocol.js';

/** Options of {@link binanceProtocol}. */
export interface BinanceProtocolOptions {
  /** Binance symbol (`BTCUSDT`) → engine symbol. */
  readonly symbols: SymbolMap;
  /** Base URL; the stream path is added. @default 'wss://stream.binance.com:9443' */
  readonly url?: string;
  /** @default 30_000 */
  readonly staleAfterMs?: number;
  /** Replace a connection this old (Binance cuts at 24 h). @default 23.5 h */
  readonly maxConnectionAgeMs?: number;
}

/** The Binance protocol for a {@link VenueConnector}. */
export function binanceProtocol(options: BinanceProtocolOptions): VenueProtocol {
  const ids = options.symbols.ids();
  if (ids.length === 0) throw new Error('binance: no symbols to subscribe');
  if (ids.length > 1024) throw new Error('binance: a connection carries at most 1,024 streams');
  const base = (options.url ?? 'wss://stream.binance.com:9443').replace(/\/+$/, '');
  const streams = ids.map((s) => `${s.toLowerCase()}@bookTicker`).join('/');
  return {
    venue: 'binance',
    instrumentIds: ids,
    symbolsOf: (id) => (options.symbols.has(id) ? [options.symbols.resolve(id)] : []),
    globalSequence: true,
    staleAfterMs: options.staleAfterMs ?? 30_000,
    socket: {
      url: () => `${base}/stream?streams=${streams}`,
      idleTimeoutMs: 60_000, // the server pings every 20 s
      maxConnectionAgeMs: options.maxConnectionAgeMs ?? 23.5 * 3_600_000,
      sendRatePerSecond: 5, // documented: 5 incoming messages per second, pongs included
      backoff: { initialMs: 1_000 }, // 300 connections per 5 minutes per IP
    },
    session: (ctx) => new BinanceSession(ctx, options.symbols),
  };
}

class BinanceSession implements VenueSession {
  readonly #ctx: SessionContext;
  readonly #symbols: SymbolMap;
  readonly #normalizer: BinanceNormalizer;

  constructor(ctx: SessionContext, symbols: SymbolMap) {
    this.#ctx = ctx;
    this.#symbols = symbols;
    this.#normalizer = new BinanceNormalizer({ symbols, everyUpdate: true });
  }

  open(): void {
    // Subscribed by the URL: every update from now on comes on this connection, so a rotation can switch at once.
    this.#ctx.ready();
  }

  message(data: string, receivedAt: number): void {
    const ctx = this.#ctx;
    const frame = parseFrame(ctx, data);
    if (frame === undefined) return;
    const payload = typeof frame === 'object' && frame !== null && 'data' in frame ? (frame as { data: unknown }).data : frame;
    if (field(payload, 'e') === 'serverShutdown') {
      ctx.log.warn({ venue: 'binance' }, 'venue announced a server shutdown: replacing the connection');
      ctx.rotate();
      return;
    }
    if (typeof frame === 'object' && frame !== null && 'error' in frame) {
      ctx.log.warn({ venue: 'binance', error: (frame as { error: unknown }).error }, 'venue answered an error');
      return;
    }
    const s = field(payload, 's');
    if (s !== undefined && this.#symbols.has(s)) ctx.alive(s);
    for (const q of normalizing(ctx, s, () => this.#normalizer.normalize(frame, receivedAt))) ctx.quote(q, q.venueSeq);
  }

  resnapshot(): boolean {
    return false; // every bookTicker message is the whole top: there is no book to resync
  }
}
