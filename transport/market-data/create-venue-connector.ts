/**
 * One call from configuration to a ready {@link VenueConnector}: the venue's
 * protocol over the configured instruments, a {@link QuoteGuard} over the
 * engine's instruments, and a {@link MarketRegistry} for resolutions.
 */
import type { Instrument } from '../../actors/index.js';
import { MarketRegistry } from '../../engine/index.js';
import type { TickPublisher } from '../nats/index.js';
import { binanceProtocol } from './binance-protocol.js';
import type { Clock } from './clock.js';
import { coinbaseProtocol } from './coinbase-protocol.js';
import type { ConnectorMetrics } from './connector-metrics.js';
import type { KalshiCredentials } from './kalshi-auth.js';
import { kalshiProtocol } from './kalshi-protocol.js';
import { SymbolMap, type Venue } from './normalized-quote.js';
import { polymarketProtocol } from './polymarket-protocol.js';
import { QuoteGuard, type QuoteGuardOptions, type ReferencePrices, type ReferenceSource } from './quote-guard.js';
import { VenueConnector, type QuoteSink, type VenueConnectorOptions } from './venue-connector.js';
import type { ConnectorLog, VenueProtocol } from './venue-protocol.js';

/** Options of {@link createVenueConnector}. */
export interface CreateVenueConnectorOptions {
  readonly venue: Venue;
  /** The engine's instruments (the node's list). */
  readonly instruments: readonly Instrument[];
  /** Venue instrument id → engine symbol (Kalshi: market ticker → engine market), from `resolveSubscriptions`. */
  readonly subscriptions: Readonly<Record<string, string>>;
  /** Venue URL (a simulator's, in tests). @default the venue's production URL */
  readonly url?: string;
  /** Coinbase: `level2` or `ticker`; Kalshi: `orderbook_delta` or `ticker`. @default level2 / orderbook_delta */
  readonly channel?: string;
  /** Kalshi handshake signing. */
  readonly credentials?: KalshiCredentials;
  /** Where good quotes go (absent in reference mode). */
  readonly sink?: QuoteSink;
  /** Reference mode: record good quotes here instead of publishing. */
  readonly recordInto?: ReferencePrices;
  /** Another venue's prices for the jump band. */
  readonly reference?: ReferenceSource;
  /** The guard's limits. @default QuoteGuard defaults */
  readonly guard?: Omit<QuoteGuardOptions, 'instruments' | 'reference'>;
  readonly metrics?: ConnectorMetrics;
  readonly log?: ConnectorLog;
  readonly clock?: Clock;
  readonly socket?: VenueConnectorOptions['socket'];
  readonly staleAfterMs?: number;
  readonly maxInFlight?: number;
  /** Messages per subscribe (products, assets or markets per message). @default the venue's */
  readonly perSubscribe?: number;
}

/** The protocol of a venue over `subscriptions`. */
export function venueProtocol(o: CreateVenueConnectorOptions): VenueProtocol {
  const url = o.url === undefined ? {} : { url: o.url };
  switch (o.venue) {
    case 'coinbase':
      if (o.channel !== undefined && o.channel !== 'level2' && o.channel !== 'ticker')
        throw new Error(`coinbase channel must be level2 or ticker, got ${o.channel}`);
      return coinbaseProtocol({
        symbols: new SymbolMap('coinbase', o.subscriptions),
        ...url,
        ...(o.channel === undefined ? {} : { channel: o.channel }),
        ...(o.perSubscribe === undefined ? {} : { productsPerSubscribe: o.perSubscribe }),
      });
    case 'binance':
      return binanceProtocol({ symbols: new SymbolMap('binance', o.subscriptions), ...url });
    case 'polymarket': {
      const bySymbol = new Map(o.instruments.map((i) => [i.symbol, i]));
      return polymarketProtocol({
        symbols: new SymbolMap('polymarket', o.subscriptions),
        instrument: (s) => bySymbol.get(s),
        ...url,
        ...(o.perSubscribe === undefined ? {} : { assetsPerSubscribe: o.perSubscribe }),
      });
    }
    case 'kalshi':
      if (o.channel !== undefined && o.channel !== 'orderbook_delta' && o.channel !== 'ticker')
        throw new Error(`kalshi channel must be orderbook_delta or ticker, got ${o.channel}`);
      return kalshiProtocol({
        markets: o.subscriptions,
        instruments: o.instruments,
        ...url,
        ...(o.credentials === undefined ? {} : { credentials: o.credentials }),
        ...(o.channel === undefined ? {} : { channel: o.channel }),
        ...(o.perSubscribe === undefined ? {} : { marketsPerSubscribe: o.perSubscribe }),
        ...(o.clock === undefined ? {} : { now: () => o.clock!.now() }),
      });
  }
}

/** A connector for `venue`; call `start()` to connect. */
export function createVenueConnector(o: CreateVenueConnectorOptions): VenueConnector {
  const guard = new QuoteGuard({
    ...o.guard,
    instruments: o.instruments,
    ...(o.reference === undefined ? {} : { reference: o.reference }),
  });
  return new VenueConnector({
    protocol: venueProtocol(o),
    guard,
    markets: new MarketRegistry(o.instruments),
    ...(o.sink === undefined ? {} : { sink: o.sink }),
    ...(o.recordInto === undefined ? {} : { reference: o.recordInto }),
    ...(o.metrics === undefined ? {} : { metrics: o.metrics }),
    ...(o.log === undefined ? {} : { log: o.log }),
    ...(o.clock === undefined ? {} : { clock: o.clock }),
    ...(o.socket === undefined ? {} : { socket: o.socket }),
    ...(o.staleAfterMs === undefined ? {} : { staleAfterMs: o.staleAfterMs }),
    ...(o.maxInFlight === undefined ? {} : { maxInFlight: o.maxInFlight }),
  });
}

/** A {@link QuoteSink} over the market stream's {@link TickPublisher}. */
export function tickPublisherSink(publisher: TickPublisher): QuoteSink {
  return {
    publishTick: (tick, msgId) => publisher.publishTick(tick, { msgId }),
    publishResolution: (r) => publisher.publishResolution(r),
  };
}
