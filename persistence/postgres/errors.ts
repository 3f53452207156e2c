/** Errors raised by the Postgres persistence layer. */

/** postgres.js and Node codes that mean the database cannot be reached or the client was closed. */
const UNAVAILABLE_CODES = new Set([
  'CONNECTION_ENDED',
  'CONNECTION_CLOSED',
  'CONNECTION_DESTROYED',
  'CONNECT_TIMEOUT',
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'ETIMEDOUT',
  'EPIPE',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '3D000', // invalid_catalog_name: the database does not exist
]);

/** Raised when the database is closed, unreachable or shutting down. `cause` holds the driver's error. */
export class PgUnavailableError extends Error {
  readonly code = 'PG_UNAVAILABLE';
  constructor(message: string, options?: ErrorOptions) {
    super(`postgres unavailable: ${message}`, options);
    this.name = 'PgUnavailableError';
  }
}

/** Whether a driver error means the database cannot be reached (rather than a bad statement). */
export function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && UNAVAILABLE_CODES.has(code)) return true;
  // An AggregateError from net.connect (IPv4 and IPv6 both refused) carries the codes on its members.
  if (err instanceof AggregateError) return err.errors.some(isUnavailable);
  return false;
}

/** Re-raise `err` as a {@link PgUnavailableError} when it means the database is gone; otherwise unchanged. */
export function mapPgError(err: unknown): unknown {
  if (err instanceof PgUnavailableError || !isUnavailable(err)) return err;
  const e = err as { code?: unknown; message?: unknown };
  return new PgUnavailableError(`${String(e.code ?? 'unknown')}: ${String(e.message ?? err)}`, { cause: err });
}

/**
 * Codes by which a connection was lost with statements possibly sent on it:
 * whether they committed is unknown. (A refused or timed-out connect, or an
 * error the server answered, leaves no doubt.)
 */
const SENT_THEN_LOST_CODES = new Set(['CONNECTION_CLOSED', 'CONNECTION_DESTROYED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE']);

/** Whether a driver error leaves unknown if the statement committed. */
export function sentThenLost(err: unknown): boolean {
  const e = err instanceof PgUnavailableError ? err.cause : err;
  const code = (e as { code?: unknown } | null)?.code;
  return typeof code === 'string' && SENT_THEN_LOST_CODES.has(code);
}
