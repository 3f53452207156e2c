/**
 * One validation of market inputs for every door: the tape reader, the
 * JetStream tick source, the market-data publisher and the engine itself.
 * Each check answers `undefined` (valid) or a reason code, so every door
 * refuses the same inputs for the same reason and counts them by it.
 * Format and codes: docs/tape-format.md.
 */
import type { Instrument, InstrumentKind } from '../actors/index.js';
import { sameInstrument } from './instrument-schema.js';

/** Why a market input (tick, resolution, clock) was refused. */
export type MarketInputRefusal =
  /** A tick of a symbol that is not a known instrument. */
  | 'UNKNOWN_SYMBOL'
  /** `seq` is not a positive safe integer. */
  | 'INVALID_SEQ'
  /** `ts` (or a clock's `time`) is not a non-negative integer of ms since epoch. */
  | 'INVALID_TIMESTAMP'
  /** `bid` or `ask` is not a finite number. */
  | 'PRICE_NOT_FINITE'
  /** A linear instrument's `bid` or `ask` is zero or negative. */
  | 'PRICE_NOT_POSITIVE'
  /** A binary instrument's `bid` or `ask` is outside 0..1 (e.g. cents sent as 97). */
  | 'PRICE_OUT_OF_RANGE'
  /** `bid` above `ask`. */
  | 'CROSSED_QUOTE'
  /** `bidSize` or `askSize` is negative or not finite. */
  | 'INVALID_SIZE'
  /** A resolution of a market no binary instrument belongs to. */
  | 'UNKNOWN_MARKET'
  /** A resolution whose outcome is not one of its market's outcomes. */
  | 'UNKNOWN_OUTCOME'
  /** A second resolution of a market already resolved. */
  | 'ALREADY_RESOLVED'
  /** An instrument definition that does not parse (fields missing, of the wrong type, too long). */
  | 'INVALID_INSTRUMENT'
  /** An instrument definition of a known symbol that differs from the one in force. */
  | 'INSTRUMENT_CONFLICT';

/** Every {@link MarketInputRefusal}, e.g. to initialise counters or document them. */
export const MARKET_INPUT_REFUSALS: readonly MarketInputRefusal[] = Object.freeze([
  'UNKNOWN_SYMBOL',
  'INVALID_SEQ',
  'INVALID_TIMESTAMP',
  'PRICE_NOT_FINITE',
  'PRICE_NOT_POSITIVE',
  'PRICE_OUT_OF_RANGE',
  'CROSSED_QUOTE',
  'INVALID_SIZE',
  'UNKNOWN_MARKET',
  'UNKNOWN_OUTCOME',
  'ALREADY_RESOLVED',
  'INVALID_INSTRUMENT',
  'INSTRUMENT_CONFLICT',
] as const);

/** The fields of a quote a check reads (a `Tick`, a `NormalizedQuote` and a tick payload all fit). */
export interface QuoteFields {
  readonly ts: number;
  readonly bid: number;
  readonly ask: number;
  readonly bidSize?: number | undefined;
  readonly askSize?: number | undefined;
}

/** A time in ms since epoch: a non-negative safe integer. */
export function isValidTimestamp(t: unknown): t is number {
  return typeof t === 'number' && Number.isSafeInteger(t) && t >= 0;
}

/** A stream or tape sequence number: a positive safe integer. */
export function isValidSeq(seq: unknown): seq is number {
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0;
}

const badSize = (s: number | undefined): boolean => s !== undefined && !(Number.isFinite(s) && s >= 0);

/**
 * The checks that hold whatever the instrument: integer time, finite prices,
 * not negative, bid ≤ ask, sizes non-negative and finite.
 */
export function validateQuoteShape(q: QuoteFields): MarketInputRefusal | undefined {
  if (!isValidTimestamp(q.ts)) return 'INVALID_TIMESTAMP';
  if (typeof q.bid !== 'number' || typeof q.ask !== 'number' || !Number.isFinite(q.bid) || !Number.isFinite(q.ask))
    return 'PRICE_NOT_FINITE';
  if (q.bid < 0 || q.ask < 0) return 'PRICE_NOT_POSITIVE';
  if (q.bid > q.ask) return 'CROSSED_QUOTE';
  if (badSize(q.bidSize) || badSize(q.askSize)) return 'INVALID_SIZE';
  return undefined;
}

/**
 * Validate a quote for its instrument kind: a linear instrument needs
 * `0 < bid ≤ ask`, a binary share `0 ≤ bid ≤ ask ≤ 1` (a share pays at most 1).
 * An unknown instrument (`undefined`) is `UNKNOWN_SYMBOL`.
 */
export function validateQuote(instrument: { readonly kind: InstrumentKind } | undefined, q: QuoteFields): MarketInputRefusal | undefined {
  if (instrument === undefined) return 'UNKNOWN_SYMBOL';
  const shape = validateQuoteShape(q);
  if (shape !== undefined) return shape;
  if (instrument.kind === 'binary') return q.ask > 1 ? 'PRICE_OUT_OF_RANGE' : undefined;
  return q.bid > 0 ? undefined : 'PRICE_NOT_POSITIVE';
}

/**
 * Instruments, their markets and resolved markets: what a door needs to
 * validate ticks and resolutions. Plain data, no I/O; each door keeps its own.
 */
export class MarketRegistry {
  readonly #instruments = new Map<string, Instrument>();
  /** market → its outcomes */
  readonly #markets = new Map<string, Set<string>>();
  readonly #resolved = new Map<string, string>();

  constructor(instruments: Iterable<Instrument> = [], resolutions: Iterable<readonly [string, string]> = []) {
    for (const inst of instruments) this.add(inst);
    for (const [market, outcome] of resolutions) this.#resolved.set(market, outcome);
  }

  /** Add (or redefine) an instrument; a binary one adds its outcome to its market. */
  add(inst: Instrument): void {
    this.#instruments.set(inst.symbol, inst);
    if (inst.kind === 'binary' && inst.market !== undefined && inst.outcome !== undefined) {
      let outcomes = this.#markets.get(inst.market);
      if (outcomes === undefined) this.#markets.set(inst.market, (outcomes = new Set()));
      outcomes.add(inst.outcome);
    }
  }

  /**
   * Validate an instrument definition arriving on the market stream: a new
   * symbol or the very definition in force is accepted (publishing it again
   * is harmless); a different definition of a known symbol is
   * `INSTRUMENT_CONFLICT`, as is a binary share whose market is resolved.
   */
  checkInstrument(inst: Instrument): MarketInputRefusal | undefined {
    const known = this.#instruments.get(inst.symbol);
    if (known !== undefined) return sameInstrument(known, inst) ? undefined : 'INSTRUMENT_CONFLICT';
    if (inst.kind === 'binary' && inst.market !== undefined && this.#resolved.has(inst.market)) return 'INSTRUMENT_CONFLICT';
    return undefined;
  }

  instrument(symbol: string): Instrument | undefined {
    return this.#instruments.get(symbol);
  }

  /** Validate a tick: seq, then the quote for its symbol's instrument. */
  checkTick(t: QuoteFields & { readonly seq: number; readonly symbol: string }): MarketInputRefusal | undefined {
    if (!isValidSeq(t.seq)) return 'INVALID_SEQ';
    return validateQuote(this.#instruments.get(t.symbol), t);
  }

  /** Validate a resolution against the known markets and those already resolved. */
  checkResolution(r: {
    readonly seq: number;
    readonly ts: number;
    readonly market: string;
    readonly outcome: string;
  }): MarketInputRefusal | undefined {
    if (!isValidSeq(r.seq)) return 'INVALID_SEQ';
    if (!isValidTimestamp(r.ts)) return 'INVALID_TIMESTAMP';
    const outcomes = this.#markets.get(r.market);
    if (outcomes === undefined) return 'UNKNOWN_MARKET';
    if (!outcomes.has(r.outcome)) return 'UNKNOWN_OUTCOME';
    if (this.#resolved.has(r.market)) return 'ALREADY_RESOLVED';
    return undefined;
  }

  /** Record a resolution {@link checkResolution} accepted. */
  resolve(market: string, outcome: string): void {
    this.#resolved.set(market, outcome);
  }
}
