/**
 * transport/market-data: the `market-data` role. The venue normalizers turn
 * one venue message, in the venue's documented format, into zero or more
 * {@link NormalizedQuote}s in engine symbols; the venue connectors keep a
 * WebSocket to each venue, check every quote at the door ({@link QuoteGuard})
 * and publish the good ones to the market stream. docs/market-data.md.
 */
export {
  DecimalString,
  IsoTime,
  MalformedVenueMessageError,
  parseJson,
  parseVenueMessage,
  PriceString,
  SequenceGapError,
  SizeString,
  SymbolMap,
  TopOfBookMemory,
  UnknownInstrumentError,
} from './normalized-quote.js';
export type { NormalizedQuote, Venue } from './normalized-quote.js';
export { HOLD_REASONS, reasonOfIssues } from './data-quality.js';
export type { HoldReason } from './data-quality.js';
export { LocalBook } from './local-book.js';
export type { BookLevel, BookSide } from './local-book.js';
export { CoinbaseNormalizer } from './coinbase-normalizer.js';
export type { CoinbaseNormalizerOptions } from './coinbase-normalizer.js';
export { CoinbaseLevel2Normalizer } from './coinbase-level2-normalizer.js';
export type { CoinbaseLevel2NormalizerOptions, Level2Result } from './coinbase-level2-normalizer.js';
export { BinanceNormalizer } from './binance-normalizer.js';
export type { BinanceNormalizerOptions } from './binance-normalizer.js';
export { PolymarketNormalizer } from './polymarket-normalizer.js';
export type { PolymarketNormalizerOptions } from './polymarket-normalizer.js';
export { KalshiNormalizer } from './kalshi-normalizer.js';
export type { KalshiNormalizerOptions } from './kalshi-normalizer.js';
export { systemClock } from './clock.js';
export type { Clock, TimerHandle } from './clock.js';
export { Backoff } from './backoff.js';
export type { BackoffOptions } from './backoff.js';
export { SendPacer } from './send-pacer.js';
export type { SendPacerOptions } from './send-pacer.js';
export { VenueSocket } from './venue-socket.js';
export type { CloseCause, VenueConnection, VenueSocketEvent, VenueSocketHandler, VenueSocketOptions } from './venue-socket.js';
export { QuoteGuard, ReferencePrices } from './quote-guard.js';
export type { GuardDecision, QuoteGuardOptions, ReferencePrice, ReferenceSource } from './quote-guard.js';
export { fnv1a, QuoteKeys } from './quote-keys.js';
export { ConnectorMetrics } from './connector-metrics.js';
export { silentLog } from './venue-protocol.js';
export type { ConnectorLog, SessionContext, VenueProtocol, VenueSession } from './venue-protocol.js';
export { VenueConnector } from './venue-connector.js';
export type { QuoteSink, VenueConnectorOptions } from './venue-connector.js';
export { coinbaseProtocol } from './coinbase-protocol.js';
export type { CoinbaseProtocolOptions } from './coinbase-protocol.js';
export { binanceProtocol } from './binance-protocol.js';
export type { BinanceProtocolOptions } from './binance-protocol.js';
export { polymarketProtocol } from './polymarket-protocol.js';
export type { PolymarketProtocolOptions } from './polymarket-protocol.js';
export { kalshiProtocol } from './kalshi-protocol.js';
export type { KalshiProtocolOptions } from './kalshi-protocol.js';
export { KalshiAuthError, kalshiAuthHeaders, kalshiCredentials, verifyKalshiHeaders } from './kalshi-auth.js';
export type { KalshiCredentials } from './kalshi-auth.js';
export { DEFAULT_VENUE_CONFIG, parseVenueConfig, readVenueConfig, resolveSubscriptions, VENUES, VenueConfigError } from './venue-config.js';
export type { VenueConfig, VenueSectionConfig } from './venue-config.js';
export { createVenueConnector, tickPublisherSink, venueProtocol } from './create-venue-connector.js';
export type { CreateVenueConnectorOptions } from './create-venue-connector.js';

export { SyntheticFeed } from './synthetic-feed.js';
export type { FeedItem } from './synthetic-feed.js';
export { runVenue } from './venue-runner.js';
