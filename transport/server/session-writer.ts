/**
 * How the gateway answers a session: frames under the hub's hard limit, and
 * refusals whose close (or count towards one) is the protocol's table,
 * {@link ERROR_CLOSES}.
 */
import { CLOSE, ERROR_CLOSES, type ErrorCode, type ServerFrame } from '../protocol/index.js';
import { GATEWAY_DEFAULTS, type GatewayOptions } from './gateway-options.js';
import type { Session } from './session.js';

/** How a refusal is sent: the request id it answers, and whether it is a documented exception to its code's close. */
export interface RefuseOptions {
  readonly id?: string | number | undefined;
  /**
   * Neither closes nor counts, whatever the code's close: AUTH_FAILED on a
   * re-auth (the session goes on under its token) and RATE_LIMITED for the
   * trader's shared budget (not this connection's flood).
   */
  readonly spared?: boolean;
}

/** Sends frames and refusals to the gateway's sessions. */
export class SessionWriter {
  readonly #o: GatewayOptions;
  readonly #hardLimit: number;
  readonly #maxProtocolErrors: number;

  constructor(o: GatewayOptions) {
    this.#o = o;
    this.#hardLimit = o.hub.hardLimitBytes;
    this.#maxProtocolErrors = o.maxProtocolErrors ?? GATEWAY_DEFAULTS.maxProtocolErrors;
  }

  /** A frame to an open session, unless its buffer is over the hard limit (then it is closed as a slow consumer). */
  send(s: Session, frame: ServerFrame): void {
    if (s.closed || s.ws === undefined || this.overHardLimit(s)) return;
    s.send(s.codec.encode(frame));
  }

  /** An `error` frame, then the close its code's entry of {@link ERROR_CLOSES} says. */
  refuse(s: Session, code: ErrorCode, message: string, opts: RefuseOptions = {}): void {
    const c = ERROR_CLOSES[code];
    const close = opts.spared !== true && (c.after === 'closes' || (c.after === 'counted' && ++s.errors > this.#maxProtocolErrors));
    this.#o.metrics.refusals.inc({ code });
    this.send(s, { t: 'error', code, message, ...(opts.id === undefined ? {} : { id: opts.id }) });
    if (close) this.end(s, c.after === 'closes' ? c.code : CLOSE.POLICY, code);
  }

  /** Over the hub's hard limit: closed as a slow consumer (true), as the hub does for live frames. A frame to an empty buffer always goes. */
  overHardLimit(s: Session): boolean {
    const buffered = s.buffered();
    if (buffered === 0 || buffered <= this.#hardLimit) return false;
    this.#o.hub.counters.slowClosed++;
    this.#o.metrics.refusals.inc({ code: 'SLOW_CONSUMER' });
    s.closeSlow();
    return true;
  }

  /** Close the socket with `code`, once. */
  end(s: Session, code: number, reason: string): void {
    if (s.closed || s.ws === undefined) return;
    const ws = s.ws;
    s.closed = true;
    ws.end(code, reason.slice(0, 120));
  }
}
