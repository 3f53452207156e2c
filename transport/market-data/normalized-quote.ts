/**
 * The one quote format every venue normalizer produces, the venue-id → engine
 * symbol map, the normalizers' errors, and the zod helpers they share to
 * validate untrusted venue messages with errors that name the field.
 */
import { z } from 'zod';
import { ISSUE_POSITIVE_PRICE, reasonOfIssues, type HoldReason } from './data-quality.js';

/** Venues with a normalizer. */
export type Venue = 'coinbase' | 'binance' | 'polymarket' | 'kalshi';

/**
 * One top-of-book quote from a venue, already in engine terms: the engine
 * symbol, ms since epoch, and prices in the engine's units (0..1 for binary
 * shares). The engine assigns its own `seq` when it turns this into a `Tick`.
 */
export interface NormalizedQuote {
  readonly venue: Venue;
  /** Engine symbol, e.g. `BTC-USD` or `KX:BTC-100K-DEC:YES`. */
  readonly symbol: string;
  /** Exchange time if the message carries one, else the caller's receive time; ms since epoch. */
  readonly ts: number;
  readonly bid: number;
  readonly ask: number;
  readonly bidSize?: number;
  readonly askSize?: number;
  /** The venue's own sequence / update id of the message, when it has one. */
  readonly venueSeq?: number;
}

/** A venue message that does not validate; `issues` name each bad field. */
export class MalformedVenueMessageError extends Error {
  readonly code = 'MALFORMED_VENUE_MESSAGE';
  readonly venue: Venue;
  readonly issues: readonly string[];
  /**
   * What the refusal is counted as: `PRICE_OUT_OF_RANGE` or `CROSSED_BOOK`
   * when the only issues are a price range or a crossed top, else `MALFORMED_MESSAGE`.
   */
  readonly reason: HoldReason;
  constructor(venue: Venue, issues: readonly string[], options?: ErrorOptions & { reason?: HoldReason }) {
    super(`malformed ${venue} message: ${issues.join('; ')}`, options);
    this.name = 'MalformedVenueMessageError';
    this.venue = venue;
    this.issues = issues;
    this.reason = options?.reason ?? 'MALFORMED_MESSAGE';
  }
}

/** A venue instrument id with no entry in the {@link SymbolMap}; never guessed. */
export class UnknownInstrumentError extends Error {
  readonly code = 'UNKNOWN_INSTRUMENT';
  readonly venue: Venue;
  readonly instrumentId: string;
  constructor(venue: Venue, instrumentId: string) {
    super(`unknown ${venue} instrument "${instrumentId}": add it to the symbol map to quote it`);
    this.name = 'UnknownInstrumentError';
    this.venue = venue;
    this.instrumentId = instrumentId;
  }
}

/**
 * A gap in a venue's per-subscription sequence. The local books of
 * `instrumentIds` are stale: the caller must request a fresh snapshot; until
 * it arrives, deltas for those instruments are refused.
 */
export class SequenceGapError extends Error {
  readonly code = 'SEQUENCE_GAP';
  readonly venue: Venue;
  /** The venue subscription whose sequence jumped. */
  readonly subscription: number;
  readonly expected: number;
  readonly received: number;
  /** Venue instrument ids whose books need a snapshot. */
  readonly instrumentIds: readonly string[];
  /** Always true: the caller must resync (request a snapshot). */
  readonly resync = true;
  constructor(venue: Venue, subscription: number, expected: number, received: number, instrumentIds: readonly string[]) {
    super(
      `${venue} subscription ${subscription}: sequence gap (expected ${expected}, received ${received}); ` +
        `request a fresh snapshot for ${instrumentIds.join(', ') || 'the subscription'}`,
    );
    this.name = 'SequenceGapError';
    this.venue = venue;
    this.subscription = subscription;
    this.expected = expected;
    this.received = received;
    this.instrumentIds = instrumentIds;
  }
}

/**
 * Venue instrument id → engine symbol for one venue. Ids not in the map are
 * refused with {@link UnknownInstrumentError}.
 */
export class SymbolMap {
  readonly venue: Venue;
  readonly #map: ReadonlyMap<string, string>;

  /** @param entries venue instrument id → engine symbol, as a record or pairs. */
  constructor(venue: Venue, entries: Readonly<Record<string, string>> | Iterable<readonly [string, string]>) {
    this.venue = venue;
    const pairs = Symbol.iterator in entries ? [...(entries as Iterable<readonly [string, string]>)] : Object.entries(entries);
    const map = new Map<string, string>();
    for (const [id, symbol] of pairs) {
      if (id === '' || symbol === '') throw new Error(`${venue} symbol map: empty instrument id or symbol`);
      if (map.has(id)) throw new Error(`${venue} symbol map: instrument "${id}" listed twice`);
      map.set(id, symbol);
    }
    this.#map = map;
  }

  /** The engine symbol of a venue instrument id; throws {@link UnknownInstrumentError} if unmapped. */
  resolve(instrumentId: string): string {
    const symbol = this.#map.get(instrumentId);
    if (symbol === undefined) throw new UnknownInstrumentError(this.venue, instrumentId);
    return symbol;
  }

  /** Whether the venue instrument id is mapped. */
  has(instrumentId: string): boolean {
    return this.#map.has(instrumentId);
  }

  /** The mapped venue instrument ids (e.g. to subscribe to). */
  ids(): string[] {
    return [...this.#map.keys()];
  }
}

/** A decimal number sent as a string (`"4388.01"`, `".48"`), parsed to a finite number. */
export const DecimalString = z
  .string()
  .regex(/^-?(\d+\.?\d*|\.\d+)$/, 'a decimal number as a string')
  .transform(Number);

/** A price sent as a decimal string: strictly positive. */
export const PriceString = DecimalString.refine((n) => n > 0, ISSUE_POSITIVE_PRICE);

/** A size sent as a decimal string: zero or more. */
export const SizeString = DecimalString.refine((n) => n >= 0, 'a size of zero or more');

/** An ISO-8601 time string, parsed to ms since epoch. */
export const IsoTime = z
  .string()
  .refine((s) => !Number.isNaN(Date.parse(s)), 'an ISO-8601 time')
  .transform((s) => Date.parse(s));

/** A message as JSON: strings are parsed (a non-JSON string is malformed), anything else is returned as is. */
export function parseJson(venue: Venue, message: unknown): unknown {
  if (typeof message !== 'string') return message;
  try {
    return JSON.parse(message);
  } catch (err) {
    throw new MalformedVenueMessageError(venue, [`not JSON (${(err as Error).message})`], { cause: err });
  }
}

/**
 * Validate one venue message (a JSON string or an already-parsed value)
 * against `schema`; throws {@link MalformedVenueMessageError} naming each bad field.
 */
export function parseVenueMessage<S extends z.ZodType>(venue: Venue, schema: S, message: unknown): z.output<S> {
  const json = parseJson(venue, message);
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const { issues } = parsed.error;
    throw new MalformedVenueMessageError(
      venue,
      issues.map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`),
      {
        reason: reasonOfIssues(issues.map((i) => i.message)),
      },
    );
  }
  return parsed.data;
}

/**
 * Remembers the last top of book emitted per symbol so a message that does not
 * change it yields no quote.
 */
export class TopOfBookMemory {
  readonly #last = new Map<string, string>();
  readonly #always: boolean;

  /**
   * @param options.always every quote counts as changed (a connector's guard
   *   then compares with the last quote published, not the last emitted).
   *   @default false
   */
  constructor(options: { readonly always?: boolean } = {}) {
    this.#always = options.always ?? false;
  }

  /** True (and remembered) if the quote's bid/ask/sizes differ from the last one of its symbol. */
  changed(quote: NormalizedQuote): boolean {
    if (this.#always) return true;
    const key = `${quote.bid}|${quote.ask}|${quote.bidSize ?? ''}|${quote.askSize ?? ''}`;
    if (this.#last.get(quote.symbol) === key) return false;
    this.#last.set(quote.symbol, key);
    return true;
  }

  /** Forget a symbol (its next quote is emitted whatever it is). */
  forget(symbol: string): void {
    this.#last.delete(symbol);
  }
}
