/**
 * The traders' gateway on uWebSockets.js: WebSocket protocol v1
 * (protocol.ts) on `/v1/ws`, and the HTTP API registered by http-api.ts on
 * the same app. It holds no engine: it reads state and hands orders to a
 * {@link GatewayEngine}, and receives live frames through the {@link StreamHub}.
 */
import type { Logger } from 'pino';
import type { HttpResponse, TemplatedApp, us_listen_socket, WebSocket } from 'uWebSockets.js';
import type { AssessmentState } from '../../actors/index.js';
import type { RateLimiter } from '../../persistence/redis/rate-limiter.js';
import type { IntakeRequest, IntakeResult } from '../../engine/node/engine-node.js';
import { CLOSE, FrameCodec, FrameError, PROTOCOL_JSON, PROTOCOL_MSGPACK, PROTOCOLS, type ClientFrame, type ErrorCode, type OrderOp, type Protocol, type ServerFrame, type SessionLimits } from './protocol.js';
import type { GatewayMetrics } from './gateway-metrics.js';
import { Session, type Holder } from './session.js';
import type { StreamHub } from './stream-hub.js';
import type { Principal, TokenVerifier } from './token-verifier.js';
import { loadUws, type LoadedUws } from './uws.js';

/** What the gateway needs of the engine side. */
export interface GatewayEngine {
  state(assessmentId: string): Promise<AssessmentState | undefined>;
  offer(req: IntakeRequest): Promise<IntakeResult>;
}

/** Options of {@link Gateway.start}. */
export interface GatewayOptions {
  readonly engine: GatewayEngine;
  readonly verifier: TokenVerifier;
  readonly hub: StreamHub;
  readonly metrics: GatewayMetrics;
  readonly log: Logger;
  /** Registers HTTP routes on the app (http-api.ts). */
  readonly routes?: (app: TemplatedApp, gateway: Gateway) => void;
  /** @default 8080 (0 picks a free port) */
  readonly port?: number;
  /** @default '127.0.0.1' */
  readonly host?: string;
  /** Largest client frame answered with an error; 4× this is closed by uWS unread. @default 16_384 */
  readonly maxFrameBytes?: number;
  /** Frames per second per connection. @default 50 */
  readonly messagesPerSecond?: number;
  /** Frames per second per trader, all connections. @default 100 */
  readonly traderMessagesPerSecond?: number;
  /** @default 16 */
  readonly maxSubscriptions?: number;
  /** @default 8 */
  readonly maxConnectionsPerTrader?: number;
  /** Time to send a valid auth frame, ms. @default 5_000 */
  readonly authTimeoutMs?: number;
  /** Seconds without traffic before a socket is closed (uWS pings at half of it). @default 60 */
  readonly idleTimeoutSec?: number;
  /** Malformed frames tolerated before a close. @default 10 */
  readonly maxProtocolErrors?: number;
  /** Run on the uWS JavaScript fallback if the native binary does not load. @default false */
  readonly allowFallback?: boolean;
  /** Orders per trader shared across gateway processes (Redis, or in-process). @default no shared limit */
  readonly orderLimiter?: RateLimiter;
}

/** A running gateway. */
export class Gateway {
  readonly uws: LoadedUws;
  readonly app: TemplatedApp;
  readonly port: number;
  readonly #o: GatewayOptions;
  readonly #listen: us_listen_socket;
  readonly #sessions = new Set<Session>();
  readonly #perTrader = new Map<string, { connections: number; tokens: number; refilledAt: number }>();
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
    this.#limits = { maxFrameBytes: o.maxFrameBytes ?? 16_384, messagesPerSecond: o.messagesPerSecond ?? 50, maxSubscriptions: o.maxSubscriptions ?? 16 };
    this.#sweeper = setInterval(() => o.hub.sweep(), 10_000);
    this.#sweeper.unref();
  }

  /** Listen; rejects when the port is taken or uWS is not native (unless allowed). */
  static async start(o: GatewayOptions): Promise<Gateway> {
    const loaded = loadUws(o.allowFallback ?? false);
    const app = loaded.uws.App();
    const maxFrame = o.maxFrameBytes ?? 16_384;
    // One codec per subprotocol for every session: each holds buffers worth more than the rest of an idle session.
    const codecs: Record<Protocol, FrameCodec> = { [PROTOCOL_MSGPACK]: new FrameCodec(PROTOCOL_MSGPACK, maxFrame), [PROTOCOL_JSON]: new FrameCodec(PROTOCOL_JSON, maxFrame) };
    let gateway: Gateway | undefined;
    app.ws<Holder>('/v1/ws', {
      compression: loaded.uws.DISABLED,
      maxPayloadLength: maxFrame * 4,
      idleTimeout: o.idleTimeoutSec ?? 60,
      sendPingsAutomatically: true,
      maxBackpressure: 64 * 1024 * 1024, // the hub closes slow readers far below this
      upgrade: (res, req, context) => {
        const offered = req.getHeader('sec-websocket-protocol').split(',').map((p) => p.trim());
        const protocol = PROTOCOLS.find((p) => offered.includes(p));
        if (gateway?.draining) return void res.writeStatus('503 Service Unavailable').end('draining');
        if (protocol === undefined) return void res.writeStatus('400 Bad Request').end(`offer subprotocol ${PROTOCOLS.join(' or ')}`);
        const session = new Session(gateway === undefined ? 0 : ++gateway.#nextSession, protocol, codecs[protocol]);
        // uWS copies the user data object: hand it a holder, so the session itself stays one object.
        res.upgrade<Holder>({ session }, req.getHeader('sec-websocket-key'), protocol, req.getHeader('sec-websocket-extensions'), context);
      },
      open: (ws) => gateway!.#open(ws),
      message: (ws, data, isBinary) => gateway!.#message(ws.getUserData().session, data, isBinary),
      close: (ws) => gateway!.#close(ws.getUserData().session),
      drain: (ws) => gateway!.#drained(ws.getUserData().session),
    });
    const port = o.port ?? 8080;
    const listen = await new Promise<us_listen_socket>((resolve, reject) => {
      app.listen(o.host ?? '127.0.0.1', port, (socket) => (socket ? resolve(socket) : reject(new Error(`gateway cannot listen on ${o.host ?? '127.0.0.1'}:${port}`))));
    });
    gateway = new Gateway(o, loaded, app, listen, loaded.uws.us_socket_local_port(listen));
    o.routes?.(app, gateway);
    app.any('/*', (res) => json(res, 404, { error: { code: 'NOT_FOUND', message: 'no such route' } }));
    o.log.info({ port: gateway.port, implementation: loaded.implementation }, 'gateway listening');
    return gateway;
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
    s.authTimer = setTimeout(() => {
      if (s.principal === undefined) this.#refuse(s, 'AUTH_TIMEOUT', `no valid auth frame within ${this.#o.authTimeoutMs ?? 5_000} ms`, true);
    }, this.#o.authTimeoutMs ?? 5_000);
  }

  #close(s: Session): void {
    s.closed = true;
    s.ws = undefined;
    clearTimeout(s.authTimer);
    s.authTimer = undefined;
    this.#sessions.delete(s);
    this.#o.metrics.connections.dec();
    for (const id of s.subs ?? []) this.#o.hub.unsubscribe(id, s);
    if (s.principal !== undefined) {
      const t = this.#perTrader.get(s.principal.traderId);
      if (t !== undefined && --t.connections <= 0) this.#perTrader.delete(s.principal.traderId);
    }
  }

  /** The socket drained: tell it which streams skipped deltas, so it resumes them. */
  #drained(s: Session): void {
    const lagging = s.lagging;
    if (lagging === undefined || s.buffered() > 64 * 1024) return;
    s.lagging = undefined;
    s.ws?.cork(() => {
      for (const id of lagging) this.#send(s, { t: 'resync', assessmentId: id, reason: 'deltas were skipped while this connection was slow; resume from your last seq' });
    });
  }

  #message(s: Session, data: ArrayBuffer, isBinary: boolean): void {
    if (!this.#allow(s)) return;
    let frame: ClientFrame;
    try {
      frame = s.codec.decode(data, isBinary);
    } catch (err) {
      const e = err as FrameError;
      this.#refuse(s, e.code, e.message, ++s.errors > (this.#o.maxProtocolErrors ?? 10));
      return;
    }
    if (s.principal === undefined) {
      if (s.authenticating) return this.#refuse(s, 'AUTH_REQUIRED', 'wait for ready before sending more frames', true);
      if (frame.t !== 'auth') return this.#refuse(s, 'AUTH_REQUIRED', 'the first frame must be auth', true);
      s.authenticating = true;
      return void this.#auth(s, frame.token).finally(() => (s.authenticating = false));
    }
    switch (frame.t) {
      case 'auth': return this.#refuse(s, 'ALREADY_AUTHENTICATED', 'this connection is already authenticated');
      case 'ping': return this.#send(s, { t: 'pong', ...(frame.ts === undefined ? {} : { ts: frame.ts }), serverTs: Date.now() });
      case 'sub': return void this.#subscribe(s, frame);
      case 'unsub':
        if (s.subs?.delete(frame.assessmentId) !== true) return this.#refuse(s, 'NOT_SUBSCRIBED', `not subscribed to '${frame.assessmentId}'`, false, frame.id);
        this.#o.hub.unsubscribe(frame.assessmentId, s);
        return this.#send(s, { t: 'unsubscribed', id: frame.id, assessmentId: frame.assessmentId });
      case 'order': return void this.#order(s, frame);
    }
  }

  /** Token buckets per connection and per trader; a flood is answered, then closed. */
  #allow(s: Session): boolean {
    const now = Date.now();
    const rate = this.#limits.messagesPerSecond;
    s.tokens = Math.min(rate, s.tokens + ((now - s.refilledAt) * rate) / 1000);
    s.refilledAt = now;
    let ok = s.tokens >= 1;
    if (ok) s.tokens -= 1;
    if (ok && s.principal !== undefined) {
      const t = this.#perTrader.get(s.principal.traderId);
      if (t !== undefined) {
        const trate = this.#o.traderMessagesPerSecond ?? 100;
        t.tokens = Math.min(trate, t.tokens + ((now - t.refilledAt) * trate) / 1000);
        t.refilledAt = now;
        ok = t.tokens >= 1;
        if (ok) t.tokens -= 1;
      }
    }
    if (!ok) this.#refuse(s, 'RATE_LIMITED', `more than ${rate} frames/s on this connection or over the trader's limit`, ++s.errors > (this.#o.maxProtocolErrors ?? 10));
    return ok;
  }

  async #auth(s: Session, token: string): Promise<void> {
    let principal: Principal;
    try {
      principal = await this.#o.verifier.verify(token);
    } catch (err) {
      const code = (err as { code?: string }).code ?? 'TOKEN_INVALID';
      this.#o.metrics.authFailures.inc({ reason: code });
      return this.#refuse(s, 'AUTH_FAILED', `${code}: ${(err as Error).message}`, true);
    }
    if (s.closed) return;
    const t = this.#perTrader.get(principal.traderId) ?? { connections: 0, tokens: this.#o.traderMessagesPerSecond ?? 100, refilledAt: Date.now() };
    const max = this.#o.maxConnectionsPerTrader ?? 8;
    if (t.connections >= max) return this.#refuse(s, 'TOO_MANY_CONNECTIONS', `trader already has ${max} connections`, true);
    t.connections++;
    this.#perTrader.set(principal.traderId, t);
    clearTimeout(s.authTimer);
    s.authTimer = undefined; // a cleared timer still holds its closure while referenced
    s.principal = principal;
    this.#send(s, { t: 'ready', traderId: principal.traderId, roles: [...principal.roles], heartbeatMs: ((this.#o.idleTimeoutSec ?? 60) * 1000) / 2, limits: this.#limits });
  }

  /** Ownership check: the token's trader owns it, or holds the operator role. Unknown and foreign ids get the same answer. */
  async #mayAccess(s: Session, assessmentId: string): Promise<AssessmentState | undefined> {
    const state = await this.#o.engine.state(assessmentId);
    if (state !== undefined && (state.traderId === s.principal!.traderId || s.principal!.roles.has('operator'))) {
      (s.owned ??= new Set()).add(assessmentId);
      return state;
    }
    this.#o.metrics.forbidden.inc();
    this.#o.log.warn({ conn: s.id, trader: s.principal!.traderId, assessment: assessmentId }, 'access to an assessment refused');
    return undefined;
  }

  async #subscribe(s: Session, f: Extract<ClientFrame, { t: 'sub' }>): Promise<void> {
    if (!s.subscribed(f.assessmentId) && (s.subs?.size ?? 0) >= this.#limits.maxSubscriptions) {
      return this.#refuse(s, 'TOO_MANY_SUBSCRIPTIONS', `at most ${this.#limits.maxSubscriptions} subscriptions per connection`, false, f.id);
    }
    const state = await this.#mayAccess(s, f.assessmentId);
    if (s.closed) return;
    if (state === undefined) return this.#refuse(s, 'FORBIDDEN_ASSESSMENT', `assessment '${f.assessmentId}' does not exist or is not yours`, false, f.id);
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
          this.#send(s, { t: 'resumed', id: f.id, assessmentId: f.assessmentId, epoch: hub.epoch, from: resume.seq + 1, to: hub.seqOf(f.assessmentId) });
        });
        this.#o.metrics.resumes.inc({ outcome: 'replayed' });
        return;
      }
      this.#o.metrics.resumes.inc({ outcome: 'snapshot' });
    }
    hub.subscribe(f.assessmentId, s);
    (s.subs ??= new Set()).add(f.assessmentId);
    this.#send(s, { t: 'snapshot', id: f.id, assessmentId: f.assessmentId, epoch: hub.epoch, seq: hub.seqOf(f.assessmentId), state });
  }

  async #order(s: Session, f: Extract<ClientFrame, { t: 'order' }>): Promise<void> {
    if (s.owned?.has(f.assessmentId) !== true && (await this.#mayAccess(s, f.assessmentId)) === undefined) {
      return this.#refuse(s, 'FORBIDDEN_ASSESSMENT', `assessment '${f.assessmentId}' does not exist or is not yours`, false, f.id);
    }
    const limited = await this.#o.orderLimiter?.take(`orders:${s.principal!.traderId}`);
    if (limited !== undefined && !limited.allowed) {
      this.#o.metrics.orders.inc({ result: 'RATE_LIMITED' });
      return this.#send(s, { t: 'reject', id: f.id, code: 'RATE_LIMITED', message: `order rate limit reached for this trader; retry in ${limited.resetMs} ms` });
    }
    const result = await this.#o.engine.offer({ kind: 'command', assessmentId: f.assessmentId, command: toCommand(f.order) });
    this.#o.metrics.orders.inc({ result: result.ok ? 'acknowledged' : result.code });
    if (s.closed) return;
    this.#send(s, result.ok ? { t: 'ack', id: f.id, position: result.position } : { t: 'reject', id: f.id, code: result.code, message: result.message });
  }

  #send(s: Session, frame: ServerFrame): void {
    if (s.closed || s.ws === undefined) return;
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

/** Socket order → engine command. */
export function toCommand(o: OrderOp): unknown {
  const { op, ...rest } = o;
  return { kind: op, ...rest };
}

/** Write a JSON response (corked). */
export function json(res: HttpResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.cork(() => {
    res.writeStatus(`${status} ${STATUS[status] ?? ''}`.trim()).writeHeader('content-type', 'application/json');
    for (const [k, v] of Object.entries(headers)) res.writeHeader(k, v);
    res.end(JSON.stringify(body));
  });
}

const STATUS: Record<number, string> = { 200: 'OK', 201: 'Created', 202: 'Accepted', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 409: 'Conflict', 413: 'Payload Too Large', 429: 'Too Many Requests', 500: 'Internal Server Error', 502: 'Bad Gateway', 503: 'Service Unavailable' };

export { PROTOCOL_JSON };
