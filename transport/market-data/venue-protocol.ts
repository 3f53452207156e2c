/**
 * What a venue's protocol plugs into {@link VenueConnector}: the URL and
 * handshake headers, the socket's timing for that venue (its heartbeats, its
 * limits), and a session per connection that subscribes, reads frames and
 * resnapshots books. A session reports through its {@link SessionContext}:
 * quotes, resolutions, held-back messages, gaps, and liveness per instrument.
 */
import type { HoldReason } from './data-quality.js';
import type { NormalizedQuote, Venue } from './normalized-quote.js';
import type { VenueSocketOptions } from './venue-socket.js';

/** The structured logger the connectors write to (pino's methods fit). */
export interface ConnectorLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

/** A logger that drops everything (the default). */
export const silentLog: ConnectorLog = Object.freeze({ info() {}, warn() {}, error() {} });

/** How a session reports to its connector. */
export interface SessionContext {
  readonly log: ConnectorLog;
  /** Clock time, ms. */
  now(): number;
  /** Queue a frame under the venue's send rate. */
  send(message: string): void;
  /** Subscriptions are acknowledged and data flows. */
  ready(): void;
  /**
   * A normalized quote. `globalKey` is the venue's own sequence when every
   * connection sees the same one (Binance `u`): it becomes the dedupe key and
   * orders the symbol's quotes across connections. Otherwise the connector
   * derives the key from the venue time and content.
   */
  quote(quote: NormalizedQuote, globalKey?: number): void;
  /** A market resolved: `outcome` of engine market `market` pays 1. */
  resolution(resolution: { readonly market: string; readonly outcome: string; readonly ts: number }): void;
  /** A message (or part of one) held back; `instrumentId` when the message names a configured one. */
  hold(reason: HoldReason, detail: string, instrumentId?: string): void;
  /** A sequence gap: counted; the session resnapshots the instruments itself. */
  gap(detail: string, instrumentIds: readonly string[]): void;
  /** A configured instrument had an update (for stale-feed detection), whether or not its top moved. */
  alive(instrumentId: string): void;
  /** The venue announced it will close this connection: open a replacement now. */
  rotate(): void;
  /** End this connection (the socket reconnects with backoff). */
  drop(cause: string): void;
}

/** One connection's protocol state. */
export interface VenueSession {
  /** The connection opened: subscribe. */
  open(): void;
  /** One text frame received at clock time `receivedAt`. */
  message(data: string, receivedAt: number): void;
  /**
   * Ask the venue for fresh books of these instruments (their updates are
   * held until the snapshots arrive). False when the venue has no way to.
   */
  resnapshot(instrumentIds: readonly string[], cause: 'gap' | 'stale'): boolean;
  /** Application-level keepalive frame, if the venue wants one. */
  keepalive?(): void;
}

/** A venue's protocol for {@link VenueConnector}. */
export interface VenueProtocol {
  readonly venue: Venue;
  /** Venue instrument ids subscribed (product ids, symbols, asset ids, market tickers). */
  readonly instrumentIds: readonly string[];
  /** Engine symbols quoted from a venue instrument (a Kalshi market quotes its YES and NO shares). */
  symbolsOf(instrumentId: string): readonly string[];
  /** Whether `globalKey` of {@link SessionContext.quote} is given (a sequence shared by every connection). */
  readonly globalSequence: boolean;
  /** No update of an instrument for this long marks it stale (and asks a resnapshot where possible), ms. */
  readonly staleAfterMs: number;
  /** The venue's socket settings (idle timeout, pings, send rate, age limit, ...). */
  readonly socket: Partial<Omit<VenueSocketOptions, 'handler' | 'onEvent' | 'clock'>> & { readonly url: () => string };
  /** A session for one new connection. */
  session(ctx: SessionContext): VenueSession;
}
