/**
 * The traders' gateway on uWebSockets.js: WebSocket protocol v1
 * (protocol.ts) on `/v1/ws`, and the HTTP API registered by http-api.ts on
 * the same app. It holds no engine: it reads state and hands orders to a
 * {@link GatewayEngine}, and receives live frames through the {@link StreamHub}.
 */
import type { TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import type { AssessmentState } from '../../actors/index.js';
import {
  CLOSE,
  FrameCodec,
  type FrameError,
  PROTOCOL_JSON,
  PROTOCOL_MSGPACK,
  PROTOCOLS,
  type ClientFrame,
  type ErrorCode,
  type Protocol,
  type ServerFrame,
  type SessionLimits,
  UNROUTED,
  pickProtocol,
  WS_PATH,
} from '../protocol/index.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { Session, type Holder } from './session.js';
import type { Principal } from './token-verifier.js';
import { loadUws, type LoadedUws } from './uws.js';
import { guardApp, PortInUseError } from './guard.js';
import { TraderLimits, type TraderCount } from './trader-limits.js';
import { GATEWAY_DEFAULTS, type GatewayOptions, type OfferResult, type StreamSnapshot } from './gateway-options.js';
import { json, toCommand } from './http-json.js';

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
  readonly #hardLimit: number;
  readonly #limits: SessionLimits;
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
    this.#hardLimit = o.hub.hardLimitBytes;
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
              const session = new Session(++g.#nextSession, protocol, codecs[protocol], address);
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
      drain: safe('drain', (ws: WebSocket<Holder>) => gateway!.#drained(ws.getUserData().session)),
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
    for (const s of this.#sessions) this.#end(s, CLOSE.GOING_AWAY, 'server draining');
    this.uws.uws.us_listen_socket_close(this.#listen);
    clearInterval(this.#sweeper);
  }

  // -- connections ---------------------------------------------------------------------

  #open(ws: WebSocket<Holder>): void {
    const s = ws.getUserData().session;
    s.ws = ws;
    this.#sessions.add(s);
    this.#o.metrics.connections.inc();
    s.authTimer = setTimeout(
      this.#guarded(s, 'auth timeout', () => {
        if (s.principal === undefined)
          this.#refuse(s, 'AUTH_TIMEOUT', `no valid auth frame within ${this.#o.authTimeoutMs ?? GATEWAY_DEFAULTS.authTimeoutMs} ms`, true);
      }),
      this.#o.authTimeoutMs ?? GATEWAY_DEFAULTS.authTimeoutMs,
    );
  }

  #close(s: Session): void {
    s.closed = true;
    s.ws = undefined;
    clearTimeout(s.authTimer);
    s.authTimer = undefined;
    clearTimeout(s.expiryTimer);
    s.expiryTimer = undefined;
    this.#sessions.delete(s);
    this.#o.metrics.connections.dec();
    for (const id of s.subs ?? []) this.#o.hub.unsubscribe(id, s);
    if (s.principal !== undefined) this.#traders.leave(s.principal.traderId, s.subs?.size ?? 0);
  }

  /** The socket drained: tell it which streams skipped deltas, so it resumes them. */
  #drained(s: Session): void {
    const lagging = s.lagging;
    if (lagging === undefined || s.buffered() > GATEWAY_DEFAULTS.resyncBelowBytes) return;
    s.lagging = undefined;
    s.ws?.cork(() => {
      for (const id of lagging)
        this.#send(s, {
          t: 'resync',
          assessmentId: id,
          reason: 'deltas were skipped while this connection was slow; resume from your last seq',
        });
    });
  }

  /** A handler threw or rejected: count and log it, answer INTERNAL on its socket; the process keeps serving. */
  #failed(err: unknown, where: string, ws: WebSocket<Holder> | Session | undefined): void {
    this.#o.metrics.handlerErrors.inc({ where: `ws.${where}` });
    this.#o.log.error({ err, where }, 'WebSocket handler failed');
    try {
      const s = ws instanceof Session ? ws : ws?.getUserData().session;
      if (s !== undefined && !s.closed) this.#refuse(s, 'INTERNAL', 'the gateway failed on this frame; it was not processed');
    } catch {
      /* the socket is gone */
    }
  }

  /** A control-frame ping (uWS answers the pong itself): counted against the connection's rate like any frame. */
  #ping(s: Session): void {
    if (!s.take(this.#limits.messagesPerSecond))
      this.#refuse(
        s,
        'RATE_LIMITED',
        `more than ${this.#limits.messagesPerSecond} frames/s (pings included) on this connection`,
        ++s.errors > (this.#o.maxProtocolErrors ?? GATEWAY_DEFAULTS.maxProtocolErrors),
      );
  }

  #message(s: Session, data: ArrayBuffer, isBinary: boolean): void {
    if (!this.#allow(s)) return;
    let frame: ClientFrame;
    try {
      frame = s.codec.decode(data, isBinary);
    } catch (err) {
      const e = err as FrameError;
      this.#refuse(s, e.code, e.message, ++s.errors > (this.#o.maxProtocolErrors ?? GATEWAY_DEFAULTS.maxProtocolErrors));
      return;
    }
    // The trader's budget after the decode, so a refused order or sub names its id and can be told apart.
    if (s.principal !== undefined && !this.#traders.frames.take(s.principal.traderId)) {
      const id = 'id' in frame && (typeof frame.id === 'string' || typeof frame.id === 'number') ? frame.id : undefined;
      return this.#refuse(
        s,
        'RATE_LIMITED',
        `more than ${this.#traders.traderMessagesPerSecond} frames/s from this trader over all its connections`,
        false,
        id,
      );
    }
    const async = (p: Promise<void>): void => void p.catch((err: unknown) => this.#failed(err, 'message', s));
    if (s.principal === undefined) {
      if (s.authenticating) return this.#refuse(s, 'AUTH_REQUIRED', 'wait for ready before sending more frames', true);
      if (frame.t !== 'auth') return this.#refuse(s, 'AUTH_REQUIRED', 'the first frame must be auth', true);
      s.authenticating = true;
      return async(this.#auth(s, frame.token).finally(() => (s.authenticating = false)));
    }
    switch (frame.t) {
      case 'auth':
        if (s.authenticating) return this.#refuse(s, 'ALREADY_AUTHENTICATED', 'a re-auth is being checked: wait for its answer');
        s.authenticating = true;
        return async(this.#reauth(s, frame.token).finally(() => (s.authenticating = false)));
      case 'ping':
        return this.#send(s, { t: 'pong', ...(frame.ts === undefined ? {} : { ts: frame.ts }), serverTs: Date.now() });
      case 'sub':
        return async(this.#subscribe(s, frame));
      case 'unsub':
        if (s.subs?.delete(frame.assessmentId) !== true)
          return this.#refuse(s, 'NOT_SUBSCRIBED', `not subscribed to '${frame.assessmentId}'`, false, frame.id);
        this.#o.hub.unsubscribe(frame.assessmentId, s);
        this.#trader(s).subscriptions--;
        return this.#send(s, { t: 'unsubscribed', id: frame.id, assessmentId: frame.assessmentId });
      case 'order':
        return async(this.#order(s, frame));
    }
  }

  /**
   * The connection's bucket, before the decode (a flood costs no decode). The trader's budget (over
   * all its connections and reconnects, on every gateway sharing the frame limiter) is taken after
   * the decode in {@link #message}. Only the connection's own flood counts towards its close: a
   * trader over budget has frames refused on every connection, none closed for it.
   */
  #allow(s: Session): boolean {
    if (!s.take(this.#limits.messagesPerSecond)) {
      this.#refuse(
        s,
        'RATE_LIMITED',
        `more than ${this.#limits.messagesPerSecond} frames/s on this connection`,
        ++s.errors > (this.#o.maxProtocolErrors ?? GATEWAY_DEFAULTS.maxProtocolErrors),
      );
      return false;
    }
    return true;
  }

  #trader(s: Session): TraderCount {
    return this.#traders.of(s.principal!.traderId)!;
  }

  /** The token's principal, or undefined once the failure is counted and answered AUTH_FAILED. */
  async #verify(s: Session, token: string, onFailure: { close: boolean; suffix: string }): Promise<Principal | undefined> {
    try {
      return await this.#o.verifier.verify(token);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'TOKEN_INVALID';
      this.#o.metrics.authFailures.inc({ reason: code });
      this.#refuse(s, 'AUTH_FAILED', `${code}: ${(err as Error).message}${onFailure.suffix}`, onFailure.close);
      return undefined;
    }
  }

  async #auth(s: Session, token: string): Promise<void> {
    const principal = await this.#verify(s, token, { close: true, suffix: '' });
    if (principal === undefined || s.closed) return;
    const rate = await this.#traders.connects.trader
      .take(`connect:trader:${principal.traderId}`)
      .catch(() => ({ allowed: true, resetMs: 0 }));
    if (s.closed) return;
    if (!rate.allowed)
      return this.#refuse(s, 'CONNECTION_RATE_LIMITED', `too many new connections for this trader; retry in ${rate.resetMs} ms`, true);
    if (!this.#traders.join(principal.traderId))
      return this.#refuse(s, 'TOO_MANY_CONNECTIONS', `trader already has ${this.#traders.maxConnectionsPerTrader} connections`, true);
    clearTimeout(s.authTimer);
    s.authTimer = undefined; // a cleared timer still holds its closure while referenced
    s.principal = principal;
    this.#expireAt(s, principal.expiresAt);
    await this.#traders.frames.prime(principal.traderId);
    if (s.closed) return;
    this.#send(s, {
      t: 'ready',
      traderId: principal.traderId,
      roles: [...principal.roles],
      heartbeatMs: ((this.#o.idleTimeoutSec ?? GATEWAY_DEFAULTS.idleTimeoutSec) * 1000) / 2,
      limits: this.#limits,
      expiresAt: principal.expiresAt,
    });
  }

  /** A new token on an authenticated socket: same trader, later expiry; the session goes on under it. */
  async #reauth(s: Session, token: string): Promise<void> {
    const principal = await this.#verify(s, token, { close: false, suffix: '; the session keeps its current token' });
    if (principal === undefined || s.closed || s.principal === undefined) return;
    if (principal.traderId !== s.principal.traderId) {
      this.#o.metrics.authFailures.inc({ reason: 'TRADER_MISMATCH' });
      return this.#refuse(
        s,
        'AUTH_FAILED',
        'TOKEN_CLAIMS: a re-auth token must be for the same trader; the session keeps its current token',
      );
    }
    s.principal = principal;
    s.owned = undefined; // roles may have changed: ownership is checked again
    this.#expireAt(s, principal.expiresAt);
    this.#send(s, { t: 'reauthenticated', traderId: principal.traderId, roles: [...principal.roles], expiresAt: principal.expiresAt });
  }

  /** Close the session with TOKEN_EXPIRED when its token expires, unless a re-auth moves the time. */
  #expireAt(s: Session, expiresAt: number): void {
    clearTimeout(s.expiryTimer);
    // Node timers hold at most 2^31 - 1 ms; tokens live 24 h at most, and a later check re-arms.
    s.expiryTimer = setTimeout(
      this.#guarded(s, 'token expiry', () => {
        s.expiryTimer = undefined;
        if (s.principal !== undefined && Date.now() >= s.principal.expiresAt)
          this.#refuse(s, 'TOKEN_EXPIRED', 'the token expired: send auth with a new token before exp to keep a session', true);
        else if (s.principal !== undefined) this.#expireAt(s, s.principal.expiresAt);
      }),
      Math.min(2 ** 31 - 1, Math.max(0, expiresAt - Date.now())),
    );
  }

  /** A timer's callback that cannot throw into the event loop (and from it out of the process). */
  #guarded(s: Session, where: string, f: () => void): () => void {
    return () => {
      try {
        f();
      } catch (err) {
        this.#failed(err, where, s);
      }
    };
  }

  /** Ownership check: the token's trader owns it, or holds the operator role. Unknown and foreign ids get the same answer. */
  async #mayAccess(s: Session, assessmentId: string): Promise<AssessmentState | undefined> {
    return this.#allowed(s, assessmentId, await this.#o.engine.state(assessmentId));
  }

  #allowed(s: Session, assessmentId: string, state: AssessmentState | undefined): AssessmentState | undefined {
    if (s.principal === undefined) return undefined;
    if (state !== undefined && (state.traderId === s.principal.traderId || s.principal.roles.has('operator'))) {
      (s.owned ??= new Set()).add(assessmentId);
      return state;
    }
    this.#o.metrics.forbidden.inc();
    this.#o.log.warn({ conn: s.id, trader: s.principal.traderId, assessment: assessmentId }, 'access to an assessment refused');
    return undefined;
  }

  /** The state and the stream position it stands at: the engine's own and the hub's, or from where the streams are numbered. */
  async #snapshot(assessmentId: string): Promise<StreamSnapshot> {
    if (this.#o.snapshots !== undefined) return this.#o.snapshots(assessmentId);
    const state = await this.#o.engine.state(assessmentId);
    return { state, epoch: this.#o.hub.epochOf(assessmentId), seq: this.#o.hub.seqOf(assessmentId) };
  }

  async #subscribe(s: Session, f: Extract<ClientFrame, { t: 'sub' }>): Promise<void> {
    const already = s.subscribed(f.assessmentId);
    // A repeated sub is cheap: no state read, no snapshot (resume to catch up, or unsub then sub for a fresh snapshot).
    if ((already && f.resume === undefined) || s.subscribing?.has(f.assessmentId) === true) {
      return this.#refuse(
        s,
        'ALREADY_SUBSCRIBED',
        `already subscribed to '${f.assessmentId}': sub with resume to catch up, or unsub first for a new snapshot`,
        false,
        f.id,
      );
    }
    if (!already) {
      if ((s.subs?.size ?? 0) + (s.subscribing?.size ?? 0) >= this.#limits.maxSubscriptions) {
        return this.#refuse(
          s,
          'TOO_MANY_SUBSCRIPTIONS',
          `at most ${this.#limits.maxSubscriptions} subscriptions per connection`,
          false,
          f.id,
        );
      }
      const maxTrader = this.#traders.maxTraderSubscriptions;
      if (this.#trader(s).subscriptions >= maxTrader) {
        return this.#refuse(
          s,
          'TOO_MANY_SUBSCRIPTIONS',
          `at most ${maxTrader} subscriptions per trader over all its connections`,
          false,
          f.id,
        );
      }
    }
    if (this.#overHardLimit(s)) return;
    (s.subscribing ??= new Set()).add(f.assessmentId);
    if (!already) this.#trader(s).subscriptions++; // held while the state is read, so concurrent subs count
    let snap: StreamSnapshot | undefined;
    let state: AssessmentState | undefined;
    let unavailable: string | undefined;
    try {
      snap = await this.#snapshot(f.assessmentId);
      state = this.#allowed(s, f.assessmentId, snap.state);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'UNAVAILABLE') throw err;
      unavailable = (err as Error).message;
    } finally {
      s.subscribing.delete(f.assessmentId);
      if (!already && (s.closed || state === undefined) && s.principal !== undefined) {
        const t = this.#traders.of(s.principal.traderId); // gone when the trader's last connection closed meanwhile
        if (t !== undefined) t.subscriptions = Math.max(0, t.subscriptions - 1);
      }
    }
    if (s.closed) return;
    if (unavailable !== undefined) return this.#refuse(s, 'UNAVAILABLE', unavailable, false, f.id);
    if (state === undefined || snap === undefined)
      return this.#refuse(s, 'FORBIDDEN_ASSESSMENT', `assessment '${f.assessmentId}' does not exist or is not yours`, false, f.id);
    // A snapshot or a replay is a frame like any other: a connection that does not read is closed, not fed.
    if (this.#overHardLimit(s)) return;
    const hub = this.#o.hub;
    // Synchronous from here: no frame can slip between the seq read and the subscription.
    s.lagging?.delete(f.assessmentId);
    if (f.resume !== undefined) {
      const missed = hub.missed(f.assessmentId, f.resume.epoch, f.resume.seq, s.protocol);
      if (missed !== undefined) {
        hub.subscribe(f.assessmentId, s);
        (s.subs ??= new Set()).add(f.assessmentId);
        const resume = f.resume;
        // Corked: the replay and its answer leave in as few writes as fit.
        s.ws?.cork(() => {
          for (const m of missed) s.send(m);
          this.#send(s, {
            t: 'resumed',
            id: f.id,
            assessmentId: f.assessmentId,
            epoch: hub.epochOf(f.assessmentId),
            from: resume.seq + 1,
            to: hub.seqOf(f.assessmentId),
          });
        });
        this.#o.metrics.resumes.inc({ outcome: 'replayed' });
        return;
      }
      this.#o.metrics.resumes.inc({ outcome: 'snapshot' });
    }
    hub.subscribe(f.assessmentId, s);
    (s.subs ??= new Set()).add(f.assessmentId);
    // Frames the hub took while the state was read (streams numbered elsewhere) follow the snapshot.
    const after = hub.missed(f.assessmentId, snap.epoch, snap.seq, s.protocol);
    const snapshot = { t: 'snapshot', id: f.id, assessmentId: f.assessmentId, epoch: snap.epoch, seq: snap.seq, state } as const;
    if (after !== undefined && after.length === 0) return this.#send(s, snapshot);
    s.ws?.cork(() => {
      this.#send(s, snapshot);
      if (after === undefined)
        this.#send(s, {
          t: 'resync',
          assessmentId: f.assessmentId,
          reason: 'the stream moved while the snapshot was taken; resume from the snapshot',
        });
      else for (const m of after) s.send(m);
    });
  }

  async #order(s: Session, f: Extract<ClientFrame, { t: 'order' }>): Promise<void> {
    let result: OfferResult;
    try {
      if (s.owned?.has(f.assessmentId) !== true && (await this.#mayAccess(s, f.assessmentId)) === undefined) {
        return this.#refuse(s, 'FORBIDDEN_ASSESSMENT', `assessment '${f.assessmentId}' does not exist or is not yours`, false, f.id);
      }
      const limited = await this.#o.orderLimiter?.take(`orders:${s.principal!.traderId}`);
      if (limited !== undefined && !limited.allowed) {
        this.#o.metrics.orders.inc({ result: 'RATE_LIMITED' });
        return this.#send(s, {
          t: 'reject',
          id: f.id,
          code: 'RATE_LIMITED',
          message: `order rate limit reached for this trader; retry in ${limited.resetMs} ms`,
        });
      }
      result = await this.#o.engine.offer({ kind: 'command', assessmentId: f.assessmentId, command: toCommand(f.order) });
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'UNAVAILABLE') throw err;
      result = { ok: false, code: 'UNAVAILABLE', message: (err as Error).message };
    }
    this.#o.metrics.orders.inc({ result: result.ok ? 'acknowledged' : result.code });
    if (s.closed) return;
    // No owner of the assessment's shard answered in time (a routing gateway): the order may or may not be taken.
    if (!result.ok && result.code === 'UNAVAILABLE')
      return this.#send(s, { t: 'reject', id: f.id, code: 'UNAVAILABLE', message: result.message });
    this.#send(
      s,
      result.ok ? { t: 'ack', id: f.id, position: result.position } : { t: 'reject', id: f.id, code: result.code, message: result.message },
    );
  }

  /** Over the hub's hard limit: closed as a slow consumer (true), as the hub does for live frames. A frame to an empty buffer always goes. */
  #overHardLimit(s: Session): boolean {
    const buffered = s.buffered();
    if (buffered === 0 || buffered <= this.#hardLimit) return false;
    this.#o.hub.counters.slowClosed++;
    this.#o.metrics.refusals.inc({ code: 'SLOW_CONSUMER' });
    s.closeSlow();
    return true;
  }

  #send(s: Session, frame: ServerFrame): void {
    if (s.closed || s.ws === undefined || this.#overHardLimit(s)) return;
    s.send(s.codec.encode(frame));
  }

  #refuse(s: Session, code: ErrorCode, message: string, close = false, id?: string | number): void {
    this.#o.metrics.refusals.inc({ code });
    this.#send(s, { t: 'error', code, message, ...(id === undefined ? {} : { id }) });
    if (close) this.#end(s, code === 'SLOW_CONSUMER' ? CLOSE.SLOW_CONSUMER : CLOSE.POLICY, code);
  }

  #end(s: Session, code: number, reason: string): void {
    if (s.closed || s.ws === undefined) return;
    const ws = s.ws;
    s.closed = true;
    ws.end(code, reason.slice(0, 120));
  }
}

export { json, toCommand } from './http-json.js';
export { PROTOCOL_JSON };
