/**
 * A NATS URL with its user and password in it (`nats://engine:secret@nats:4222`,
 * as a role's Secret holds it) as the client's connect options: the client
 * takes credentials only as options, not from the URL.
 */
import { inboxPrefixOf } from './nats-permissions.js';

/** Connect options of a NATS URL. */
export interface NatsServerOptions {
  readonly servers: string;
  readonly user?: string;
  readonly pass?: string;
  /** The user's own inbox prefix (see `inboxPrefixOf`): the server lets each user read only its own replies. */
  readonly inboxPrefix?: string;
}

/**
 * `url` split into the server and its credentials (percent-decoded). A URL
 * without credentials, or a list of servers, is passed on as it is.
 */
export function natsServer(url: string): NatsServerOptions {
  if (url.includes(',') || !url.includes('@')) return { servers: url };
  let parsed: URL;
  try {
    parsed = new URL(url.includes('://') ? url : `nats://${url}`);
  } catch {
    return { servers: url };
  }
  if (parsed.username === '') return { servers: url };
  const user = decodeURIComponent(parsed.username);
  const pass = decodeURIComponent(parsed.password);
  parsed.username = '';
  parsed.password = '';
  // A user alone may be a token: it must not show in subjects, so only a user with a password gets its inbox prefix.
  return { servers: `${parsed.protocol}//${parsed.host}`, user, ...(pass === '' ? {} : { pass, inboxPrefix: inboxPrefixOf(user) }) };
}
