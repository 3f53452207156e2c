/**
 * transport/market-data: the `market-data` role's venue message normalizers.
 * Pure (no network): each turns one venue WebSocket message, in the venue's
 * documented format, into zero or more {@link NormalizedQuote}s in engine
 * symbols. Connecting, subscribing and resyncing stay with the caller.
 */
export {
  DecimalString, IsoTime, MalformedVenueMessageError, parseJson, parseVenueMessage, PriceString, SequenceGapError,
  SizeString, SymbolMap, TopOfBookMemory, UnknownInstrumentError,
} from './normalized-quote.js';
export type { NormalizedQuote, Venue } from './normalized-quote.js';
export { LocalBook } from './local-book.js';
export type { BookLevel, BookSide } from './local-book.js';
export { CoinbaseNormalizer } from './coinbase-normalizer.js';
export type { CoinbaseNormalizerOptions } from './coinbase-normalizer.js';
export { BinanceNormalizer } from './binance-normalizer.js';
export type { BinanceNormalizerOptions } from './binance-normalizer.js';
export { PolymarketNormalizer } from './polymarket-normalizer.js';
export type { PolymarketNormalizerOptions } from './polymarket-normalizer.js';
export { KalshiNormalizer } from './kalshi-normalizer.js';
export type { KalshiNormalizerOptions } from './kalshi-normalizer.js';
