/**
 * Market data as the actors see it: instruments, top-of-book ticks, and the
 * read-only view of the latest quote per symbol.
 */

/** Linear (perpetual-style, leveraged, shortable) or binary (prediction-market share). */
export type InstrumentKind = 'linear' | 'binary';

/** A tradable instrument. Binary instruments are one outcome of a market. */
export interface Instrument {
  /** Unique symbol, e.g. `BTC-USD` or `PM:FED-DEC-CUT:YES`. */
  readonly symbol: string;
  readonly kind: InstrumentKind;
  /** Venue the prices come from (informational). */
  readonly venue: string;
  /** Smallest order quantity. */
  readonly minQty: number;
  /** For binary instruments: the market id shared by its outcomes. */
  readonly market?: string;
  /** For binary instruments: the outcome this share pays 1 on. */
  readonly outcome?: string;
  /** For binary instruments: trading stops at this time (ms since epoch). */
  readonly closesAt?: number;
}

/** One top-of-book update. `seq` is the stream sequence number; it orders everything. */
export interface Tick {
  readonly seq: number;
  /** Exchange time, ms since epoch. */
  readonly ts: number;
  readonly symbol: string;
  readonly bid: number;
  readonly ask: number;
  /** Displayed size at the bid; fills against the bid are capped by it when present. */
  readonly bidSize?: number;
  /** Displayed size at the ask; fills against the ask are capped by it when present. */
  readonly askSize?: number;
}

/** A prediction market resolved: outcome `outcome` pays 1, every other outcome 0. */
export interface Resolution {
  readonly seq: number;
  readonly ts: number;
  readonly market: string;
  readonly outcome: string;
}

/** The latest quote of a symbol. */
export interface Quote {
  readonly seq: number;
  readonly ts: number;
  readonly bid: number;
  readonly ask: number;
  readonly bidSize: number | undefined;
  readonly askSize: number | undefined;
}

/** What an actor may read about the market: instruments, latest quotes, resolutions. */
export interface MarketView {
  instrument(symbol: string): Instrument | undefined;
  quote(symbol: string): Quote | undefined;
  /** Winning outcome of a resolved market, or undefined while it trades. */
  resolution(market: string): string | undefined;
}

/** The instruments every engine knows unless a tape or config adds more. */
export const DEFAULT_INSTRUMENTS: readonly Instrument[] = Object.freeze([
  { symbol: 'BTC-USD', kind: 'linear', venue: 'coinbase', minQty: 0.0001 },
  { symbol: 'ETH-USD', kind: 'linear', venue: 'coinbase', minQty: 0.001 },
  { symbol: 'SOL-USD', kind: 'linear', venue: 'coinbase', minQty: 0.01 },
  { symbol: 'PM:FED-DEC-CUT:YES', kind: 'binary', venue: 'polymarket', minQty: 1, market: 'PM:FED-DEC-CUT', outcome: 'YES' },
  { symbol: 'PM:FED-DEC-CUT:NO', kind: 'binary', venue: 'polymarket', minQty: 1, market: 'PM:FED-DEC-CUT', outcome: 'NO' },
  { symbol: 'KX:BTC-100K-DEC:YES', kind: 'binary', venue: 'kalshi', minQty: 1, market: 'KX:BTC-100K-DEC', outcome: 'YES' },
  { symbol: 'KX:BTC-100K-DEC:NO', kind: 'binary', venue: 'kalshi', minQty: 1, market: 'KX:BTC-100K-DEC', outcome: 'NO' },
] satisfies Instrument[]);
