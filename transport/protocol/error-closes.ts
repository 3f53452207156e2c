/**
 * What follows an `error` frame of each code: the gateway's refusals read
 * this table to decide whether to close the socket, and asyncapi-ws.json
 * documents it as `x-close` on `ErrorCode` (the docs test compares the two).
 */
import { CLOSE, type ErrorCode } from './protocol.js';

/**
 * What an `error` frame leads to: the socket closes with `code`; stays open;
 * is `counted` against the session's `maxProtocolErrors` (one more closes it
 * with {@link CLOSE.POLICY}); or the code is `not sent` by this version.
 */
export type ErrorClose =
  | { readonly after: 'closes'; readonly code: number }
  | { readonly after: 'counted' }
  | { readonly after: 'stays open' }
  | { readonly after: 'not sent' };

const closes = (code: number): ErrorClose => ({ after: 'closes', code });
const counted: ErrorClose = { after: 'counted' };
const open: ErrorClose = { after: 'stays open' };

/**
 * Each code's close. Two refusals are documented exceptions the gateway
 * passes explicitly: AUTH_FAILED on a re-auth leaves the session under its
 * current token, and RATE_LIMITED for the trader's shared budget (not the
 * connection's own rate) is neither counted nor closes.
 */
export const ERROR_CLOSES: Readonly<Record<ErrorCode, ErrorClose>> = Object.freeze({
  MALFORMED_FRAME: counted,
  FRAME_TOO_LARGE: counted,
  AUTH_REQUIRED: closes(CLOSE.POLICY),
  AUTH_FAILED: closes(CLOSE.POLICY),
  AUTH_TIMEOUT: closes(CLOSE.POLICY),
  ALREADY_AUTHENTICATED: open,
  FORBIDDEN_ASSESSMENT: open,
  TOO_MANY_SUBSCRIPTIONS: open,
  TOO_MANY_CONNECTIONS: closes(CLOSE.POLICY),
  RATE_LIMITED: counted,
  SLOW_CONSUMER: closes(CLOSE.SLOW_CONSUMER),
  NOT_SUBSCRIBED: open,
  DRAINING: { after: 'not sent' },
  INTERNAL: open,
  TOKEN_EXPIRED: closes(CLOSE.POLICY),
  ALREADY_SUBSCRIBED: open,
  CONNECTION_RATE_LIMITED: closes(CLOSE.POLICY),
  UNAVAILABLE: open,
});

/** The close as asyncapi-ws.json's `x-close` words it: `closes 1008`, `stays open`, `counted`, `not sent`. */
export function closeWording(c: ErrorClose): string {
  return c.after === 'closes' ? `closes ${c.code}` : c.after;
}
