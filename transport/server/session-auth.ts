/**
 * A session's token: the auth timeout, the first `auth` (with the trader's
 * connection limits), re-auth under the same trader, and the close at expiry.
 */
import { GATEWAY_DEFAULTS } from './gateway-options.js';
import type { GatewayContext } from './gateway-context.js';
import type { Session } from './session.js';
import { SessionDeadlines } from './session-deadlines.js';
import type { Principal } from './token-verifier.js';

/** Authenticates the gateway's sessions and keeps them within their tokens' lives. */
export class SessionAuth {
  readonly #ctx: GatewayContext;
  readonly #authTimeoutMs: number;
  /** Each session's next deadline: its auth timeout until it authenticates, then its token's expiry. */
  readonly #deadlines = new SessionDeadlines<Session>((s) => this.#due(s));

  constructor(ctx: GatewayContext) {
    this.#ctx = ctx;
    this.#authTimeoutMs = ctx.o.authTimeoutMs ?? GATEWAY_DEFAULTS.authTimeoutMs;
  }

  /** A new connection: closed AUTH_TIMEOUT unless a valid `auth` arrives in time. */
  armTimeout(s: Session): void {
    this.#deadlines.set(s, Date.now() + this.#authTimeoutMs);
  }

  /** The session closed: it has no deadline any more. */
  forget(s: Session): void {
    this.#deadlines.delete(s);
  }

  /** The gateway drains: no deadline fires any more. */
  stop(): void {
    this.#deadlines.stop();
  }

  /** A session's deadline passed: the auth timeout before auth, its token's expiry after (unless a re-auth moved it). */
  #due(s: Session): void {
    try {
      if (s.principal === undefined) {
        this.#ctx.writer.refuse(s, 'AUTH_TIMEOUT', `no valid auth frame within ${this.#authTimeoutMs} ms`);
      } else if (Date.now() >= s.principal.expiresAt) {
        this.#ctx.writer.refuse(s, 'TOKEN_EXPIRED', 'the token expired: send auth with a new token before exp to keep a session');
      } else this.#expireAt(s, s.principal.expiresAt);
    } catch (err) {
      this.#ctx.failed(err, s.principal === undefined ? 'auth timeout' : 'token expiry', s);
    }
  }

  /** The token's principal, or undefined once the failure is counted and answered AUTH_FAILED. */
  async #verify(s: Session, token: string, onFailure: { spared: boolean; suffix: string }): Promise<Principal | undefined> {
    try {
      return await this.#ctx.o.verifier.verify(token);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'TOKEN_INVALID';
      this.#ctx.o.metrics.authFailures.inc({ reason: code });
      this.#ctx.writer.refuse(s, 'AUTH_FAILED', `${code}: ${(err as Error).message}${onFailure.suffix}`, { spared: onFailure.spared });
      return undefined;
    }
  }

  /** The first `auth`: the session becomes the token's trader's, within its connection limits, and is told `ready`. */
  async auth(s: Session, token: string): Promise<void> {
    const { o, traders, writer } = this.#ctx;
    const principal = await this.#verify(s, token, { spared: false, suffix: '' });
    if (principal === undefined || s.closed) return;
    const rate = await traders.connects.trader.take(`connect:trader:${principal.traderId}`).catch(() => ({ allowed: true, resetMs: 0 }));
    if (s.closed) return;
    if (!rate.allowed)
      return writer.refuse(s, 'CONNECTION_RATE_LIMITED', `too many new connections for this trader; retry in ${rate.resetMs} ms`);
    if (!traders.join(principal.traderId))
      return writer.refuse(s, 'TOO_MANY_CONNECTIONS', `trader already has ${traders.maxConnectionsPerTrader} connections`);
    s.principal = principal;
    this.#expireAt(s, principal.expiresAt);
    await traders.frames.prime(principal.traderId);
    if (s.closed) return;
    writer.send(s, {
      t: 'ready',
      traderId: principal.traderId,
      roles: [...principal.roles],
      heartbeatMs: ((o.idleTimeoutSec ?? GATEWAY_DEFAULTS.idleTimeoutSec) * 1000) / 2,
      limits: this.#ctx.limits,
      expiresAt: principal.expiresAt,
    });
  }

  /** A new token on an authenticated socket: same trader, later expiry; the session goes on under it. */
  async reauth(s: Session, token: string): Promise<void> {
    const { o, writer } = this.#ctx;
    const principal = await this.#verify(s, token, { spared: true, suffix: '; the session keeps its current token' });
    if (principal === undefined || s.closed || s.principal === undefined) return;
    if (principal.traderId !== s.principal.traderId) {
      o.metrics.authFailures.inc({ reason: 'TRADER_MISMATCH' });
      return writer.refuse(
        s,
        'AUTH_FAILED',
        'TOKEN_CLAIMS: a re-auth token must be for the same trader; the session keeps its current token',
        {
          spared: true,
        },
      );
    }
    s.principal = principal;
    s.owned = undefined; // roles may have changed: ownership is checked again
    this.#expireAt(s, principal.expiresAt);
    writer.send(s, { t: 'reauthenticated', traderId: principal.traderId, roles: [...principal.roles], expiresAt: principal.expiresAt });
  }

  /** Close the session with TOKEN_EXPIRED when its token expires, unless a re-auth moves the time (this replaces its auth timeout). */
  #expireAt(s: Session, expiresAt: number): void {
    if (!s.closed) this.#deadlines.set(s, expiresAt);
  }
}
