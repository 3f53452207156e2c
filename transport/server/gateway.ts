/**
 * The traders' gateway on uWebSockets.js: WebSocket protocol v1
 * (protocol.ts) on `/v1/ws`, and the HTTP API registered by http-api.ts on
 * the same app. It holds no engine: it reads state and hands orders to a
 * {@link GatewayEngine}, and receives live frames through the {@link StreamHub}.
 * This file holds the connections (upgrade, open, close, the frame dispatch
 * and the connection's rate); a session's auth is session-auth.ts, its
 * streams stream-subscriptions.ts, its orders order-intake.ts, and every
 * answer and refusal goes out through session-writer.ts.
 */
import type { TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import {
  CLOSE,
  FrameCodec,
  type FrameError,
  PROTOCOL_JSON,
  PROTOCOL_MSGPACK,
  PROTOCOLS,
  type ClientFrame,
  type Protocol,
  type SessionLimits,
  UNROUTED,
  pickProtocol,
  WS_PATH,
} from '../protocol/index.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { Session, type Holder } from './session.js';
import { loadUws, type LoadedUws } from './uws.js';
import { PortInUseError } from './errors.js';
import { guardApp } from './guard.js';
import { TraderLimits } from './trader-limits.js';
import { GATEWAY_DEFAULTS, type GatewayOptions } from './gateway-options.js';
import { json } from './http-json.js';
import { AssessmentAccess } from './assessment-access.js';
import type { GatewayContext } from './gateway-context.js';
import { OrderIntake } from './order-intake.js';
import { SessionAuth } from './session-auth.js';
import { SessionWriter } from './session-writer.js';
import { StreamSubscriptions } from './stream-subscriptions.js';

export { GATEWAY_DEFAULTS } from './gateway-options.js';
export type { GatewayEngine, GatewayOptions, GatewayView, OfferResult, StreamSnapshot } from './gateway-options.js';

/** uWS's `ListenOptions.LIBUS_LISTEN_EXCLUSIVE_PORT`: bind without SO_REUSEPORT. */
const LIBUS_LISTEN_EXCLUSIVE_PORT = 1;

/** A running gateway. */
export class Gateway {
  readonly uws: LoadedUws;
  readonly app: TemplatedApp;
  readonly port: number;
  readonly #o: GatewayOptions;
  readonly #listen: us_listen_socket;
  readonly #sessions = new Set<Session>();
  readonly #traders: TraderLimits;
  readonly #limits: SessionLimits;
  readonly #writer: SessionWriter;
  readonly #auth: SessionAuth;
  readonly #streams: StreamSubscriptions;
  readonly #orders: OrderIntake;
  #draining = false;
  #nextSession = 0;
  readonly #sweeper: NodeJS.Timeout;

  private constructor(o: GatewayOptions, uws: LoadedUws, app: TemplatedApp, listen: us_listen_socket, port: number) {
    this.#o = o;
    this.uws = uws;
    this.app = app;
    this.#listen = listen;
    this.port = port;
    this.#limits = {
      maxFrameBytes: o.maxFrameBytes ?? GATEWAY_DEFAULTS.maxFrameBytes,
      messagesPerSecond: o.messagesPerSecond ?? GATEWAY_DEFAULTS.messagesPerSecond,
      maxSubscriptions: o.maxSubscriptions ?? GATEWAY_DEFAULTS.maxSubscriptions,
    };
    this.#traders = new TraderLimits(o);
    this.#writer = new SessionWriter(o);
    const ctx: GatewayContext = {
      o,
      limits: this.#limits,
      traders: this.#traders,
      writer: this.#writer,
      failed: (err, where, s) => this.#failed(err, where, s),
    };
    const access = new AssessmentAccess(o);
    this.#auth = new SessionAuth(ctx);
    this.#streams = new StreamSubscriptions(ctx, access);
    this.#orders = new OrderIntake(ctx, access);
    this.#sweeper = setInterval(() => {
      o.hub.sweep();
      this.#traders.sweep();
    }, 10_000);
    this.#sweeper.unref();
  }

  /** Listen, alone on the port; rejects with {@link PortInUseError} when it is taken, or when uWS is not native (unless allowed). */
  static async start(o: GatewayOptions): Promise<Gateway> {
    const loaded = loadUws(o.allowFallback ?? false);
    let gateway: Gateway | undefined;
    // Every HTTP handler is guarded: a throw or a rejection is answered with a code, never reaches the process.
    const app = guardApp(loaded.uws.App(), (err, where, a) => {
      o.metrics.httpErrors.inc({ code: a.code });
      // A request the gateway cannot take (400) is the client's; a 500 is a handler's failure.
      if (a.status >= 500) o.metrics.handlerErrors.inc({ where: 'http' });
      (a.status >= 500 ? o.log.error.bind(o.log) : o.log.warn.bind(o.log))(
        { err, where, status: a.status, code: a.code },
        a.status >= 500 ? 'HTTP handler failed' : 'HTTP request refused',
      );
    });
    const maxFrame = o.maxFrameBytes ?? GATEWAY_DEFAULTS.maxFrameBytes;
    // One codec per subprotocol for every session: each holds buffers worth more than the rest of an idle session.
    const codecs: Record<Protocol, FrameCodec> = {
      [PROTOCOL_MSGPACK]: new FrameCodec(PROTOCOL_MSGPACK, maxFrame),
      [PROTOCOL_JSON]: new FrameCodec(PROTOCOL_JSON, maxFrame),
    };
    /** A WebSocket handler that cannot throw into uWS (and from it into the process). */
    const safe =
      <A extends unknown[]>(where: string, f: (...a: A) => void) =>
      (...a: A): void => {
        try {
          f(...a);
        } catch (err) {
          if (gateway !== undefined) gateway.#failed(err, where, a[0] as WebSocket<Holder>);
          else o.log.error({ err, where }, 'WebSocket handler failed');
        }
      };
    app.ws<Holder>(WS_PATH, {
      compression: loaded.uws.DISABLED,
      maxPayloadLength: maxFrame * GATEWAY_DEFAULTS.uwsFrameMultiple,
      idleTimeout: o.idleTimeoutSec ?? GATEWAY_DEFAULTS.idleTimeoutSec,
      sendPingsAutomatically: true,
      maxBackpressure: 2 * o.hub.hardLimitBytes, // the gateway closes slow readers at the hard limit, before uWS would drop frames
      upgrade: (res, req, context) => {
        const offered = req
          .getHeader('sec-websocket-protocol')
          .split(',')
          .map((p) => p.trim());
        const protocol = pickProtocol(offered);
        if (gateway === undefined || gateway.draining) return void res.writeStatus('503 Service Unavailable').end('draining');
        if (protocol === undefined) return void res.writeStatus('400 Bad Request').end(`offer subprotocol ${PROTOCOLS.join(' or ')}`);
        const key = req.getHeader('sec-websocket-key'),
          extensions = req.getHeader('sec-websocket-extensions');
        const address = Buffer.from(res.getRemoteAddressAsText()).toString();
        const g = gateway;
        let aborted = false;
        res.onAborted(() => (aborted = true));
        // New connections per address are counted before the upgrade (a reconnect loop costs one limiter call, not a session).
        void g.#traders.connects.address
          .take(`connect:address:${address}`)
          .catch(() => ({ allowed: true, remaining: 0, resetMs: 0 }))
          .then((r) => {
            if (aborted) return;
            res.cork(() => {
              if (!r.allowed) {
                g.#o.metrics.refusals.inc({ code: 'CONNECTION_RATE_LIMITED' });
                return void res
                  .writeStatus('429 Too Many Requests')
                  .writeHeader('retry-after', String(Math.ceil(r.resetMs / 1000)))
                  .end('CONNECTION_RATE_LIMITED: too many new connections from this address');
              }
              const session = new Session(++g.#nextSession, protocol, codecs[protocol]);
              // uWS copies the user data object: hand it a holder, so the session itself stays one object.
              res.upgrade<Holder>({ session }, key, protocol, extensions, context);
            });
          })
          .catch((err: unknown) => g.#failed(err, 'upgrade', undefined));
      },
      open: safe('open', (ws: WebSocket<Holder>) => gateway!.#open(ws)),
      message: safe('message', (ws: WebSocket<Holder>, data: ArrayBuffer, isBinary: boolean) =>
        gateway!.#message(ws.getUserData().session, data, isBinary),
      ),
      ping: safe('ping', (ws: WebSocket<Holder>) => gateway!.#ping(ws.getUserData().session)),
      close: safe('close', (ws: WebSocket<Holder>, code: number, message: ArrayBuffer) => {
        // uWS drops a connection whose text frame is not UTF-8 (RFC 6455 requires failing it) before any handler sees the frame.
        if (code === 1006 && Buffer.from(message).toString() === 'Received invalid UTF-8')
          gateway!.#o.metrics.refusals.inc({ code: 'MALFORMED_FRAME' });
        gateway!.#close(ws.getUserData().session);
      }),
      drain: safe('drain', (ws: WebSocket<Holder>) => gateway!.#streams.drained(ws.getUserData().session)),
    });
    const port = o.port ?? 8080;
    const host = o.host ?? '127.0.0.1';
    // Exclusive: without it uWS listens with SO_REUSEPORT and a second gateway on the port would share its traffic.
    const listen = await new Promise<us_listen_socket>((resolve, reject) => {
      (app.listen as unknown as (h: string, p: number, opts: number, cb: (s: us_listen_socket | false) => void) => void)(
        host,
        port,
        LIBUS_LISTEN_EXCLUSIVE_PORT,
        (socket) => (socket ? resolve(socket) : reject(new PortInUseError(host, port))),
      );
    });
    gateway = new Gateway(o, loaded, app, listen, loaded.uws.us_socket_local_port(listen));
    o.routes?.(app, gateway);
    app.any('/*', (res) => {
      o.metrics.httpErrors.inc({ code: UNROUTED.code });
      json(res, UNROUTED.status, { error: { code: UNROUTED.code, message: 'no such route' } });
    });
    o.log.info({ port: gateway.port, implementation: loaded.implementation }, 'gateway listening');
    return gateway;
  }

  /** The gateway's figures (the HTTP API counts its refusals there too). */
  get metrics(): GatewayMetrics {
    return this.#o.metrics;
  }

  get draining(): boolean {
    return this.#draining;
  }

  /** Connections open now. */
  get connections(): number {
    return this.#sessions.size;
  }

  /** Stop taking connections, close every socket with 1001, stop listening. */
  async drain(): Promise<void> {
    if (this.#draining) return; // closing the listen socket twice would crash uWS
    this.#draining = true;
    for (const s of this.#sessions) this.#writer.end(s, CLOSE.GOING_AWAY, 'server draining');
    this.uws.uws.us_listen_socket_close(this.#listen);
    clearInterval(this.#sweeper);
    this.#auth.stop();
  }

  // -- connections ---------------------------------------------------------------------

  #open(ws: WebSocket<Holder>): void {
    const s = ws.getUserData().session;
    s.ws = ws;
    this.#sessions.add(s);
    this.#o.metrics.connections.inc();
    this.#auth.armTimeout(s);
  }

  #close(s: Session): void {
    s.closed = true;
    s.ws = undefined;
    this.#auth.forget(s);
    this.#sessions.delete(s);
    this.#o.metrics.connections.dec();
    for (const id of s.subs ?? []) this.#o.hub.unsubscribe(id, s);
    if (s.principal !== undefined) this.#traders.leave(s.principal.traderId, s.subs?.size ?? 0);
  }

  /** A handler threw or rejected: count and log it, answer INTERNAL on its socket; the process keeps serving. */
  #failed(err: unknown, where: string, ws: WebSocket<Holder> | Session | undefined): void {
    this.#o.metrics.handlerErrors.inc({ where: `ws.${where}` });
    this.#o.log.error({ err, where }, 'WebSocket handler failed');
    try {
      const s = ws instanceof Session ? ws : ws?.getUserData().session;
      if (s !== undefined && !s.closed) this.#writer.refuse(s, 'INTERNAL', 'the gateway failed on this frame; it was not processed');
    } catch {
      /* the socket is gone */
    }
  }

  /** A control-frame ping (uWS answers the pong itself): counted against the connection's rate like any frame. */
  #ping(s: Session): void {
    if (!s.take(this.#limits.messagesPerSecond))
      this.#writer.refuse(s, 'RATE_LIMITED', `more than ${this.#limits.messagesPerSecond} frames/s (pings included) on this connection`);
  }

  #message(s: Session, data: ArrayBuffer, isBinary: boolean): void {
    if (!this.#allow(s)) return;
    let frame: ClientFrame;
    try {
      frame = s.codec.decode(data, isBinary);
    } catch (err) {
      const e = err as FrameError;
      return this.#writer.refuse(s, e.code, e.message);
    }
    // The trader's budget after the decode, so a refused order or sub names its id and can be told apart.
    if (s.principal !== undefined && !this.#traders.frames.take(s.principal.traderId)) {
      const id = 'id' in frame && (typeof frame.id === 'string' || typeof frame.id === 'number') ? frame.id : undefined;
      return this.#writer.refuse(
        s,
        'RATE_LIMITED',
        `more than ${this.#traders.traderMessagesPerSecond} frames/s from this trader over all its connections`,
        { id, spared: true },
      );
    }
    const async = (p: Promise<void>): void => void p.catch((err: unknown) => this.#failed(err, 'message', s));
    if (s.principal === undefined) {
      if (s.authenticating) return this.#writer.refuse(s, 'AUTH_REQUIRED', 'wait for ready before sending more frames');
      if (frame.t !== 'auth') return this.#writer.refuse(s, 'AUTH_REQUIRED', 'the first frame must be auth');
      s.authenticating = true;
      return async(this.#auth.auth(s, frame.token).finally(() => (s.authenticating = false)));
    }
    switch (frame.t) {
      case 'auth':
        if (s.authenticating) return this.#writer.refuse(s, 'ALREADY_AUTHENTICATED', 'a re-auth is being checked: wait for its answer');
        s.authenticating = true;
        return async(this.#auth.reauth(s, frame.token).finally(() => (s.authenticating = false)));
      case 'ping':
        return this.#writer.send(s, { t: 'pong', ...(frame.ts === undefined ? {} : { ts: frame.ts }), serverTs: Date.now() });
      case 'sub':
        return async(this.#streams.subscribe(s, frame));
      case 'unsub':
        return this.#streams.unsubscribe(s, frame);
      case 'order':
        return async(this.#orders.offer(s, frame));
    }
  }

  /**
   * The connection's bucket, before the decode (a flood costs no decode). The trader's budget (over
   * all its connections and reconnects, on every gateway sharing the frame limiter) is taken after
   * the decode in {@link #message}. Only the connection's own flood counts towards its close: a
   * trader over budget has frames refused on every connection, none closed for it.
   */
  #allow(s: Session): boolean {
    if (s.take(this.#limits.messagesPerSecond)) return true;
    this.#writer.refuse(s, 'RATE_LIMITED', `more than ${this.#limits.messagesPerSecond} frames/s on this connection`);
    return false;
  }
}

export { json, toCommand } from './http-json.js';
export { PROTOCOL_JSON };
