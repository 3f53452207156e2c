/**
 * Why a venue message or quote was held back at the door instead of being
 * published. One list for the normalizers, the quote guard, the connectors'
 * metrics and logs and docs/market-data.md, so each decision is counted under
 * the same name everywhere.
 */

/** A reason a message or quote was held back (never published). */
export type HoldReason =
  /** The message is not JSON or does not match the venue's documented format. */
  | 'MALFORMED_MESSAGE'
  /** The message names an instrument the connector was not configured with. */
  | 'UNKNOWN_INSTRUMENT'
  /** The venue's sequence skipped: the message is dropped and the book resnapshotted. */
  | 'SEQUENCE_GAP'
  /** An update for a book that waits for its snapshot (after a gap): it cannot be applied. */
  | 'AWAITING_SNAPSHOT'
  /** Bid or ask is NaN or infinite. */
  | 'PRICE_NOT_FINITE'
  /** A price outside its instrument's range: a binary share outside 0..1, a linear price not above 0. */
  | 'PRICE_OUT_OF_RANGE'
  /** Bid above ask. */
  | 'CROSSED_BOOK'
  /** Bid equal to ask: on a venue with resting orders on both sides this cannot rest, so it is an artefact. */
  | 'LOCKED_BOOK'
  /** A displayed size that is negative or not finite. */
  | 'INVALID_SIZE'
  /** The quote's venue time is older than the allowed age. */
  | 'STALE_TIMESTAMP'
  /** The quote's venue time is ahead of this machine's clock by more than the allowed skew. */
  | 'FUTURE_TIMESTAMP'
  /** The mid moved beyond the band from the reference (last good price, or another venue) and is not yet confirmed. */
  | 'PRICE_JUMP'
  /** The engine symbol is not one of the instruments the engine knows. */
  | 'UNKNOWN_SYMBOL'
  /** A resolution of a market no known instrument belongs to, or an outcome the market does not have. */
  | 'UNKNOWN_MARKET'
  | 'UNKNOWN_OUTCOME';

/** Every {@link HoldReason}, e.g. to initialise counters or document them. */
export const HOLD_REASONS: readonly HoldReason[] = Object.freeze([
  'MALFORMED_MESSAGE',
  'UNKNOWN_INSTRUMENT',
  'SEQUENCE_GAP',
  'AWAITING_SNAPSHOT',
  'PRICE_NOT_FINITE',
  'PRICE_OUT_OF_RANGE',
  'CROSSED_BOOK',
  'LOCKED_BOOK',
  'INVALID_SIZE',
  'STALE_TIMESTAMP',
  'FUTURE_TIMESTAMP',
  'PRICE_JUMP',
  'UNKNOWN_SYMBOL',
  'UNKNOWN_MARKET',
  'UNKNOWN_OUTCOME',
] as const);

/** Issue text of a price that is not positive (linear instruments). */
export const ISSUE_POSITIVE_PRICE = 'a positive price';
/** Issue text of a binary price outside (0, 1). */
export const ISSUE_PROBABILITY = 'a price strictly between 0 and 1';
/** Issue text of a Kalshi price outside 1..99 cents. */
export const ISSUE_CENTS = 'a price of 1 to 99 cents';
/** Issue text of a venue top of book whose ask is below its bid. */
export const ISSUE_CROSSED = 'crossed: ask below bid';

const ISSUE_REASONS: ReadonlyMap<string, HoldReason> = new Map([
  [ISSUE_POSITIVE_PRICE, 'PRICE_OUT_OF_RANGE'],
  [ISSUE_PROBABILITY, 'PRICE_OUT_OF_RANGE'],
  [ISSUE_CENTS, 'PRICE_OUT_OF_RANGE'],
  [ISSUE_CROSSED, 'CROSSED_BOOK'],
]);

/**
 * The reason of a refused message from its schema issues' messages: a price
 * range or crossed-book issue when every issue is one of those (and all the
 * same), otherwise `MALFORMED_MESSAGE`.
 */
export function reasonOfIssues(messages: readonly string[]): HoldReason {
  let reason: HoldReason | undefined;
  for (const m of messages) {
    const r = ISSUE_REASONS.get(m);
    if (r === undefined || (reason !== undefined && reason !== r)) return 'MALFORMED_MESSAGE';
    reason = r;
  }
  return reason ?? 'MALFORMED_MESSAGE';
}
