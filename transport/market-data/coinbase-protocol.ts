/**
 * Coinbase Advanced Trade market data WebSocket: `heartbeats` (one a second,
 * keeps quiet subscriptions open and proves the link) and `level2` (default)
 * or `ticker` per product, one subscribe message per channel and batch of
 * products. `sequence_num` counts every frame of the connection: a jump is a
 * lost frame, and since it may have been any product's book update, every
 * level2 book is resnapshotted (unsubscribe, subscribe: Coinbase answers with
 * a fresh snapshot); updates in between are held. Coinbase disconnects a
 * connection that has not subscribed within 5 s and limits unauthenticated
 * messages to 8 a second per IP.
 */
import { CoinbaseLevel2Normalizer } from './coinbase-level2-normalizer.js';
import { CoinbaseNormalizer } from './coinbase-normalizer.js';
import type { SymbolMap } from './normalized-quote.js';
import { chunks, field, normalizing, numberField, parseFrame } from './session-helpers.js';
import type { SessionContext, VenueProtocol, VenueSession } from './venue-protocol.js';

/** Options of {@link coinbaseProtocol}. */
export interface CoinbaseProtocolOptions {
  /** Coinbase `product_id` → engine symbol. */
  readonly symbols: SymbolMap;
  /** @default 'wss://advanced-trade-ws.coinbase.com' */
  readonly url?: string;
  /** Book channel: `level2` keeps the book (exact top, gap detection), `ticker` takes the venue's best bid/ask. @default 'level2' */
  readonly channel?: 'level2' | 'ticker';
  /** Products per subscribe message. @default 100 */
  readonly productsPerSubscribe?: number;
  /** @default 30_000 */
  readonly staleAfterMs?: number;
  /** Messages per second sent. @default 5 (Coinbase: 8 per second per IP) */
  readonly sendRatePerSecond?: number;
}

/** The Coinbase Advanced Trade protocol for a {@link VenueConnector}. */
export function coinbaseProtocol(options: CoinbaseProtocolOptions): VenueProtocol {
  const ids = options.symbols.ids();
  if (ids.length === 0) throw new Error('coinbase: no products to subscribe');
  const url = options.url ?? 'wss://advanced-trade-ws.coinbase.com';
  return {
    venue: 'coinbase',
    instrumentIds: ids,
    symbolsOf: (id) => (options.symbols.has(id) ? [options.symbols.resolve(id)] : []),
    globalSequence: false,
    staleAfterMs: options.staleAfterMs ?? 30_000,
    socket: { url: () => url, idleTimeoutMs: 10_000, sendRatePerSecond: options.sendRatePerSecond ?? 5, sendBurst: 2 },
    session: (ctx) => new CoinbaseSession(ctx, options),
  };
}

class CoinbaseSession implements VenueSession {
  readonly #ctx: SessionContext;
  readonly #ids: string[];
  readonly #channel: 'level2' | 'ticker';
  readonly #batch: number;
  readonly #level2: CoinbaseLevel2Normalizer;
  readonly #ticker: CoinbaseNormalizer;
  #lastSeq: number | undefined;
  #ready = false;

  constructor(ctx: SessionContext, options: CoinbaseProtocolOptions) {
    this.#ctx = ctx;
    this.#ids = options.symbols.ids();
    this.#channel = options.channel ?? 'level2';
    this.#batch = options.productsPerSubscribe ?? 100;
    this.#level2 = new CoinbaseLevel2Normalizer({ symbols: options.symbols, everyUpdate: true });
    this.#ticker = new CoinbaseNormalizer({ symbols: options.symbols, everyUpdate: true });
  }

  open(): void {
    this.#ctx.send(JSON.stringify({ type: 'subscribe', channel: 'heartbeats' }));
    this.#subscribe('subscribe', this.#ids);
  }

  #subscribe(type: 'subscribe' | 'unsubscribe', ids: readonly string[]): void {
    for (const batch of chunks(ids, this.#batch)) this.#ctx.send(JSON.stringify({ type, channel: this.#channel, product_ids: batch }));
  }

  message(data: string): void {
    const ctx = this.#ctx;
    const frame = parseFrame(ctx, data);
    if (frame === undefined) return;
    if (field(frame, 'type') === 'error') {
      ctx.log.warn({ venue: 'coinbase', message: field(frame, 'message') }, 'venue answered an error');
      return;
    }
    const channel = field(frame, 'channel');
    const seq = numberField(frame, 'sequence_num');
    if (channel === undefined || seq === undefined) {
      ctx.hold('MALFORMED_MESSAGE', `no channel or sequence_num: ${data.slice(0, 120)}`);
      return;
    }
    if (this.#lastSeq !== undefined && seq !== this.#lastSeq + 1 && seq > this.#lastSeq) {
      const expected = this.#lastSeq + 1;
      this.#lastSeq = seq;
      if (this.#channel === 'level2') {
        ctx.gap(`sequence_num ${expected} expected, ${seq} received: ${seq - expected} frame(s) lost`, this.#ids);
        this.resnapshot(this.#ids);
      } else {
        ctx.gap(`sequence_num ${expected} expected, ${seq} received (ticker: no book to resync)`, []);
      }
    } else if (this.#lastSeq === undefined || seq > this.#lastSeq) {
      this.#lastSeq = seq;
    }
    if (channel === 'subscriptions') {
      if (!this.#ready) {
        this.#ready = true;
        ctx.ready();
      }
      return;
    }
    if (channel === 'heartbeats') return; // the frame itself proves the link
    if (channel === 'l2_data') {
      for (const r of normalizing(ctx, undefined, () => [this.#level2.normalize(frame)])) {
        for (const id of r.products) ctx.alive(id);
        for (const id of r.awaiting) ctx.hold('AWAITING_SNAPSHOT', `level2 update of ${id} while its book waits for a snapshot`, id);
        for (const q of r.quotes) ctx.quote(q);
      }
      return;
    }
    if (channel === 'ticker') {
      const quotes = normalizing(ctx, undefined, () => this.#ticker.normalize(frame));
      for (const q of quotes) ctx.quote(q);
      const events = (frame as { events?: Array<{ tickers?: Array<{ product_id?: unknown }> }> }).events ?? [];
      for (const e of events) for (const t of e.tickers ?? []) if (typeof t.product_id === 'string') ctx.alive(t.product_id);
    }
  }

  resnapshot(ids: readonly string[]): boolean {
    if (this.#channel === 'level2') this.#level2.awaitSnapshot(ids);
    this.#subscribe('unsubscribe', ids);
    this.#subscribe('subscribe', ids);
    return true;
  }
}
