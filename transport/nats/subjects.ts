/**
 * The NATS subject scheme of the engine.
 *
 * Market data (input side):
 * - `ticks.<venue>.<symbol-token>`: one top-of-book tick, e.g. `ticks.coinbase.BTC-USD`,
 *   `ticks.polymarket.PM_FED-DEC-CUT_YES`.
 * - `resolutions.<venue>.<market-token>`: a prediction market resolved, e.g.
 *   `resolutions.polymarket.PM_FED-DEC-CUT`.
 * - `instruments.<venue>.<symbol-token>`: an instrument's definition, published
 *   ahead of its first tick, so a node learns what it has never been configured with.
 *
 * Domain events (output side), one subject per published event kind:
 * `trading.order-placed`, `trading.order-filled`, `trading.order-rejected|cancelled|expired`,
 * `trading.position-opened`, `trading.position-closed`, `trading.position-settled`,
 * `assessment.created|started|day-started|paused|resumed|abandoned|completed|passed|failed|trading-locked|pass-blocked`,
 * `rules.violation-detected`; and `report.ready` (an assessment's report, not an engine event).
 * See {@link eventSubject} for which engine events map where.
 *
 * ## Token encoding (reversible)
 *
 * A NATS subject token may not contain `.`, `*`, `>` or whitespace; to stay
 * readable and safe in every tool, tokens use only `[A-Za-z0-9-]`, `_` and `~`:
 * - `A-Z a-z 0-9 -` are kept as they are;
 * - `:` (the engine's symbol separator) becomes `_`;
 * - every other character, `_` and `~` included, becomes `~XX` per UTF-8 byte
 *   (`XX` = two upper-case hex digits), e.g. `_` → `~5F`, `.` → `~2E`, `~` → `~7E`.
 *
 * Decoding reverses it exactly: `_` → `:`, `~XX` → byte XX. So
 * `decodeToken(encodeToken(s)) === s` for every string, and an encoded token
 * never contains a character that would split or wildcard a subject.
 * The empty string has no token: encoding it throws.
 */

const KEEP = /^[A-Za-z0-9-]$/;
const HEX = '0123456789ABCDEF';

/** Encodes any non-empty string into one valid, reversible subject token. */
export function encodeToken(value: string): string {
  if (value === '') throw new RangeError('cannot encode an empty string as a subject token');
  let out = '';
  for (const ch of value) {
    if (KEEP.test(ch)) out += ch;
    else if (ch === ':') out += '_';
    else for (const b of Buffer.from(ch, 'utf8')) out += `~${HEX[b >> 4]}${HEX[b & 15]}`;
  }
  return out;
}

/** Decodes a token made by {@link encodeToken}; throws on a token it could not have made. */
export function decodeToken(token: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < token.length; i++) {
    const ch = token[i]!;
    if (ch === '_') bytes.push(0x3a);
    else if (ch === '~') {
      const hex = token.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(hex)) throw new RangeError(`bad escape in subject token "${token}" at ${i}`);
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (KEEP.test(ch)) bytes.push(ch.charCodeAt(0));
    else throw new RangeError(`character "${ch}" cannot appear in an encoded subject token "${token}"`);
  }
  if (bytes.length === 0) throw new RangeError('empty subject token');
  return Buffer.from(bytes).toString('utf8');
}

/** Subject prefix of ticks. */
export const TICKS_PREFIX = 'ticks';
/** Subject prefix of market resolutions. */
export const RESOLUTIONS_PREFIX = 'resolutions';
/** Subject prefix of instrument definitions. */
export const INSTRUMENTS_PREFIX = 'instruments';
/** Subject of clock beats: the market log's time, so deadlines fire in the same place on replay. */
export const CLOCK_SUBJECT = 'clock.beat';

/**
 * `<namespace>.` before a subject when a namespace is given (one deployment or
 * test run per namespace); nothing otherwise. A namespace is one or more
 * plain tokens such as `test-3f9a` or `prod.eu`.
 */
export function withNamespace(subject: string, namespace = ''): string {
  return namespace === '' ? subject : `${namespace}.${subject}`;
}

/** `ticks.<venue>.<symbol-token>` (under `namespace` if given). */
export function tickSubject(venue: string, symbol: string, namespace = ''): string {
  return withNamespace(`${TICKS_PREFIX}.${encodeToken(venue)}.${encodeToken(symbol)}`, namespace);
}

/** `resolutions.<venue>.<market-token>` (under `namespace` if given). */
export function resolutionSubject(venue: string, market: string, namespace = ''): string {
  return withNamespace(`${RESOLUTIONS_PREFIX}.${encodeToken(venue)}.${encodeToken(market)}`, namespace);
}

/** `instruments.<venue>.<symbol-token>` (under `namespace` if given). */
export function instrumentSubject(venue: string, symbol: string, namespace = ''): string {
  return withNamespace(`${INSTRUMENTS_PREFIX}.${encodeToken(venue)}.${encodeToken(symbol)}`, namespace);
}

/** A market-data subject taken apart. */
export type ParsedMarketSubject =
  | { readonly kind: 'tick'; readonly venue: string; readonly symbol: string }
  | { readonly kind: 'resolution'; readonly venue: string; readonly market: string }
  | { readonly kind: 'instrument'; readonly venue: string; readonly symbol: string }
  | { readonly kind: 'clock' };

/** Parses a `ticks.*.*`, `resolutions.*.*`, `instruments.*.*` or `clock.beat` subject (under `namespace` if given); undefined for anything else or a bad token. */
export function parseMarketSubject(subject: string, namespace = ''): ParsedMarketSubject | undefined {
  if (namespace !== '') {
    if (!subject.startsWith(`${namespace}.`)) return undefined;
    subject = subject.slice(namespace.length + 1);
  }
  if (subject === CLOCK_SUBJECT) return { kind: 'clock' };
  const parts = subject.split('.');
  if (parts.length !== 3) return undefined;
  const [prefix, venueTok, nameTok] = parts as [string, string, string];
  try {
    const venue = decodeToken(venueTok);
    const name = decodeToken(nameTok);
    if (prefix === TICKS_PREFIX) return { kind: 'tick', venue, symbol: name };
    if (prefix === RESOLUTIONS_PREFIX) return { kind: 'resolution', venue, market: name };
    if (prefix === INSTRUMENTS_PREFIX) return { kind: 'instrument', venue, symbol: name };
  } catch {
    return undefined;
  }
  return undefined;
}

/** Wildcards of the market-data subjects (under `namespace` if given), e.g. for a stream's `subjects`. */
export function marketSubjects(namespace = ''): string[] {
  return [`${TICKS_PREFIX}.>`, `${RESOLUTIONS_PREFIX}.>`, `${INSTRUMENTS_PREFIX}.>`, CLOCK_SUBJECT].map((s) => withNamespace(s, namespace));
}

/** Every domain-event subject the engine publishes. */
export const DOMAIN_EVENT_SUBJECTS = Object.freeze([
  'trading.order-placed',
  'trading.order-filled',
  'trading.position-opened',
  'trading.position-closed',
  'trading.order-rejected',
  'trading.order-cancelled',
  'trading.order-expired',
  'trading.position-settled',
  'assessment.created',
  'assessment.started',
  'assessment.day-started',
  'assessment.paused',
  'assessment.resumed',
  'assessment.abandoned',
  'assessment.completed',
  'assessment.passed',
  'assessment.failed',
  'assessment.trading-locked',
  'assessment.pass-blocked',
  'rules.violation-detected',
  'payment.purchase-completed',
  'payment.purchase-failed',
  'montecarlo.simulation-completed',
  'report.ready',
] as const);

export type DomainEventSubject = (typeof DOMAIN_EVENT_SUBJECTS)[number];

/** Wildcards covering every domain-event subject (under `namespace` if given), e.g. for an events stream's `subjects`. */
export function domainEventSubjects(namespace = ''): string[] {
  return ['trading.>', 'assessment.>', 'rules.>', 'payment.>', 'montecarlo.>', 'report.>'].map((s) => withNamespace(s, namespace));
}

/**
 * Engine event type → domain subject. Anything absent is not published
 * (order.modified/triggered, command.ignored, position.changed,
 * trading-unlocked, engine.* and actor.* kernel events). What is published
 * is what the history read model (persistence/history/) is built from: the
 * day rolls, settlements, pass blocks and soft locks with the orders' fates.
 *
 * - `order.accepted` → `trading.order-placed` (an order is placed once the actor accepts it)
 * - `assessment.phase-passed` → `assessment.completed` (a phase completed, the next begins)
 * - `assessment.expired` → `assessment.failed` (time ran out: a failure; the payload's `type` keeps `assessment.expired`)
 */
const EVENT_SUBJECTS: Readonly<Record<string, DomainEventSubject>> = Object.freeze({
  'order.accepted': 'trading.order-placed',
  'order.filled': 'trading.order-filled',
  'position.opened': 'trading.position-opened',
  'position.closed': 'trading.position-closed',
  'order.rejected': 'trading.order-rejected',
  'order.cancelled': 'trading.order-cancelled',
  'order.expired': 'trading.order-expired',
  'position.settled': 'trading.position-settled',
  'assessment.created': 'assessment.created',
  'assessment.started': 'assessment.started',
  'assessment.day-started': 'assessment.day-started',
  'assessment.paused': 'assessment.paused',
  'assessment.resumed': 'assessment.resumed',
  'assessment.trading-locked': 'assessment.trading-locked',
  'assessment.pass-blocked': 'assessment.pass-blocked',
  'assessment.abandoned': 'assessment.abandoned',
  'assessment.phase-passed': 'assessment.completed',
  'assessment.passed': 'assessment.passed',
  'assessment.failed': 'assessment.failed',
  'assessment.expired': 'assessment.failed',
  'rules.violation-detected': 'rules.violation-detected',
});

/** The domain subject of an engine output event type, or undefined if that event is not published. */
export function eventSubject(type: string): DomainEventSubject | undefined {
  return Object.hasOwn(EVENT_SUBJECTS, type) ? EVENT_SUBJECTS[type] : undefined;
}
