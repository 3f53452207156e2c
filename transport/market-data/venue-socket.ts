/**
 * One venue WebSocket kept open: connect, notice a silent link (no frame,
 * data or ping/pong, within the idle timeout), reconnect with exponential
 * backoff and jitter, rotate before a venue's own connection age limit
 * (make-before-break), pace outgoing messages, and close cleanly on stop.
 * What to subscribe and how to read frames is the handler's: this class
 * knows nothing of any venue's protocol.
 */
import WebSocket from 'ws';
import { Backoff, type BackoffOptions } from './backoff.js';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { SendPacer } from './send-pacer.js';

/** One live connection as its handler sees it. */
export interface VenueConnection {
  /** Counts connections of this socket from 1. */
  readonly id: number;
  /** When it opened (clock ms). */
  readonly openedAt: number;
  /** Queue a text frame under the venue's send rate. */
  send(message: string): void;
  /** The handler's word that subscriptions are in place and data flows (completes a rotation). */
  ready(): void;
  /** Close this connection now (e.g. the venue announced a shutdown); the socket reconnects. */
  drop(cause: string): void;
}

/** Why a connection ended, as counted in `market_data_reconnects_total{reason}`. */
export type CloseCause =
  | 'idle'
  | 'dropped'
  | 'closed_by_venue'
  | 'rotated'
  | 'error'
  | 'handshake_timeout'
  | 'shutdown'
  | `http_${number}`
  | `dropped_by_handler:${string}`;

/** What the socket did, for logs and metrics. */
export type VenueSocketEvent =
  | { readonly type: 'connecting'; readonly connection: number; readonly attempt: number; readonly rotation: boolean }
  | { readonly type: 'open'; readonly connection: number }
  | {
      readonly type: 'closed';
      readonly connection: number;
      readonly cause: CloseCause;
      readonly code: number;
      readonly detail: string;
      readonly lifetimeMs: number;
    }
  | { readonly type: 'reconnect-scheduled'; readonly delayMs: number; readonly attempt: number }
  | { readonly type: 'rotated'; readonly from: number; readonly to: number };

/** What the socket calls back. */
export interface VenueSocketHandler {
  /** A connection opened: send subscriptions through `conn.send`. */
  open(conn: VenueConnection): void;
  /** One text frame. */
  message(conn: VenueConnection, data: string, receivedAt: number): void;
  /** A connection ended (its state can be dropped). */
  closed?(conn: VenueConnection): void;
  /** Application-level keepalive (e.g. Polymarket's `PING` text), every `keepaliveIntervalMs`. */
  keepalive?(conn: VenueConnection): void;
}

/** Options of {@link VenueSocket}. */
export interface VenueSocketOptions {
  /** The URL of each attempt (a connector may point it elsewhere between attempts). */
  readonly url: () => string;
  /** Handshake headers of each attempt (e.g. Kalshi's signature, which is made per attempt). @default none */
  readonly headers?: () => Record<string, string>;
  readonly handler: VenueSocketHandler;
  /** No frame at all (data, ping or pong) for this long ends the connection. @default 30_000 */
  readonly idleTimeoutMs?: number;
  /** Send a WebSocket ping this often (a venue that pings us instead needs none). @default none */
  readonly pingIntervalMs?: number;
  /** Call `handler.keepalive` this often. @default none */
  readonly keepaliveIntervalMs?: number;
  /** Open a replacement connection when one is this old, then close the old one once the new is ready. @default none */
  readonly maxConnectionAgeMs?: number;
  /** A replacement that is not ready in this time is abandoned (the old connection stays). @default 10_000 */
  readonly rotateTimeoutMs?: number;
  /** A connection that lived this long resets the backoff. @default 10_000 */
  readonly stableAfterMs?: number;
  /** @default Backoff defaults */
  readonly backoff?: BackoffOptions;
  /** Outgoing messages per second on one connection. @default 5 */
  readonly sendRatePerSecond?: number;
  /** @default 1 */
  readonly sendBurst?: number;
  /** @default 10_000 */
  readonly handshakeTimeoutMs?: number;
  /** Largest frame accepted; a bigger one closes the connection (1009). @default 16 MiB */
  readonly maxPayloadBytes?: number;
  /** @default systemClock */
  readonly clock?: Clock;
  /** Every connection event, for logs and metrics. */
  readonly onEvent?: (event: VenueSocketEvent) => void;
}

interface Live {
  readonly ws: WebSocket;
  readonly conn: VenueConnection;
  readonly pacer: SendPacer;
  readonly rotation: boolean;
  openedAt: number;
  lastFrameAt: number;
  open: boolean;
  cause: CloseCause | undefined;
  detail: string;
  timers: TimerHandle[];
}

/** A venue connection kept alive; see the module comment. */
export class VenueSocket {
  readonly #o: VenueSocketOptions;
  readonly #clock: Clock;
  readonly #backoff: Backoff;
  readonly #idleMs: number;
  readonly #live = new Map<number, Live>();
  #primary: Live | undefined;
  #rotating: Live | undefined;
  #nextId = 1;
  #reconnectTimer: TimerHandle | undefined;
  #started = false;
  #stopping = false;
  #paused = false;
  #closedWaiters: Array<() => void> = [];

  constructor(options: VenueSocketOptions) {
    this.#o = options;
    this.#clock = options.clock ?? systemClock;
    this.#backoff = new Backoff(options.backoff);
    this.#idleMs = options.idleTimeoutMs ?? 30_000;
  }

  /** Whether a connection is open. */
  get connected(): boolean {
    return this.#primary?.open === true;
  }

  /** Id of the connection in use (the newest once a rotation completed), if one is open. */
  get primaryId(): number | undefined {
    return this.#primary?.open === true ? this.#primary.conn.id : undefined;
  }

  /** Connections opened so far. */
  get connections(): number {
    return this.#nextId - 1;
  }

  /** Start connecting (once). */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    this.#connect(false);
  }

  /**
   * Stop reading frames (backpressure: the publisher is behind); TCP then
   * pushes back on the venue. The idle watchdog does not count the pause.
   */
  pause(): void {
    if (this.#paused) return;
    this.#paused = true;
    for (const live of this.#live.values()) live.ws.pause();
  }

  /** Read frames again after {@link pause}. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    const now = this.#clock.now();
    for (const live of this.#live.values()) {
      live.lastFrameAt = now;
      live.ws.resume();
    }
  }

  /** Open a replacement now and switch to it once ready (a venue announced a shutdown). */
  rotate(): void {
    if (this.#stopping || this.#rotating !== undefined || this.#primary?.open !== true) return;
    this.#connect(true);
  }

  /** Close every connection with 1000 and stop reconnecting; resolves when all are closed. */
  async stop(timeoutMs = 2_000): Promise<void> {
    this.#stopping = true;
    if (this.#reconnectTimer !== undefined) this.#clock.clearTimeout(this.#reconnectTimer);
    this.#reconnectTimer = undefined;
    if (this.#live.size === 0) return;
    const closed = new Promise<void>((resolve) => this.#closedWaiters.push(resolve));
    for (const live of this.#live.values()) {
      live.cause ??= 'shutdown';
      live.pacer.detach();
      if (live.ws.readyState === WebSocket.OPEN) live.ws.close(1000, 'shutdown');
      else live.ws.terminate();
    }
    let timer: TimerHandle | undefined;
    const late = new Promise<void>((resolve) => {
      timer = this.#clock.setTimeout(resolve, timeoutMs);
    });
    await Promise.race([closed, late]);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    for (const live of this.#live.values()) live.ws.terminate();
  }

  #connect(rotation: boolean): void {
    if (this.#stopping) return;
    const id = this.#nextId++;
    this.#o.onEvent?.({ type: 'connecting', connection: id, attempt: this.#backoff.attempt, rotation });
    let ws: WebSocket;
    try {
      ws = new WebSocket(this.#o.url(), {
        headers: this.#o.headers?.() ?? {},
        handshakeTimeout: this.#o.handshakeTimeoutMs ?? 10_000,
        maxPayload: this.#o.maxPayloadBytes ?? 16 * 1024 * 1024,
        perMessageDeflate: false,
        autoPong: true,
      });
    } catch (err) {
      // A bad URL or header (e.g. a key that cannot sign) is reported like a failed attempt.
      this.#o.onEvent?.({ type: 'closed', connection: id, cause: 'error', code: 0, detail: (err as Error).message, lifetimeMs: 0 });
      if (!rotation) this.#scheduleReconnect();
      return;
    }
    const pacer = new SendPacer({ ratePerSecond: this.#o.sendRatePerSecond ?? 5, burst: this.#o.sendBurst ?? 1, clock: this.#clock });
    const now = this.#clock.now();
    const live: Live = {
      ws,
      pacer,
      rotation,
      openedAt: now,
      lastFrameAt: now,
      open: false,
      cause: undefined,
      detail: '',
      timers: [],
      conn: {
        id,
        get openedAt() {
          return live.openedAt;
        },
        send: (message) => pacer.send(message),
        ready: () => this.#ready(live),
        drop: (cause) => this.#end(live, `dropped_by_handler:${cause}`, cause),
      },
    };
    this.#live.set(id, live);
    if (rotation) this.#rotating = live;
    else this.#primary = live;

    ws.on('unexpected-response', (_req, res) => {
      live.cause = `http_${res.statusCode ?? 0}`;
      live.detail = res.statusMessage ?? '';
      res.resume();
      ws.terminate();
    });
    ws.on('open', () => this.#opened(live));
    ws.on('message', (data, isBinary) => {
      const at = this.#clock.now();
      live.lastFrameAt = at;
      if (!live.open || isBinary) return;
      this.#o.handler.message(live.conn, data.toString(), at);
    });
    ws.on('ping', () => {
      live.lastFrameAt = this.#clock.now();
    });
    ws.on('pong', () => {
      live.lastFrameAt = this.#clock.now();
    });
    ws.on('error', (err) => {
      if (live.cause === undefined) {
        live.cause = /handshake has timed out/i.test(err.message) ? 'handshake_timeout' : 'error';
        live.detail = err.message;
      }
    });
    ws.on('close', (code, reason) => this.#closed(live, code, reason.toString()));
  }

  #opened(live: Live): void {
    live.open = true;
    live.openedAt = this.#clock.now();
    live.lastFrameAt = live.openedAt;
    live.pacer.attach((m) => {
      if (live.ws.readyState === WebSocket.OPEN) live.ws.send(m);
    });
    this.#o.onEvent?.({ type: 'open', connection: live.conn.id });
    const every = (ms: number | undefined, fn: () => void): void => {
      if (ms === undefined || !(ms > 0)) return;
      const tick = (): void => {
        if (!live.open) return;
        fn();
        if (live.open) live.timers.push(this.#clock.setTimeout(tick, ms));
      };
      live.timers.push(this.#clock.setTimeout(tick, ms));
    };
    every(Math.max(10, Math.floor(this.#idleMs / 4)), () => {
      if (this.#paused) live.lastFrameAt = this.#clock.now();
      else if (this.#clock.now() - live.lastFrameAt > this.#idleMs) this.#end(live, 'idle', `no frame for ${this.#idleMs} ms`);
    });
    if (this.#paused) live.ws.pause();
    every(this.#o.pingIntervalMs, () => live.ws.ping());
    every(this.#o.keepaliveIntervalMs, () => this.#o.handler.keepalive?.(live.conn));
    if (this.#primary === live) this.#ageTimer(live);
    if (this.#rotating === live) {
      live.timers.push(
        this.#clock.setTimeout(() => {
          if (this.#rotating === live) this.#end(live, 'handshake_timeout', 'replacement not ready in time');
        }, this.#o.rotateTimeoutMs ?? 10_000),
      );
    }
    this.#o.handler.open(live.conn);
  }

  #ready(live: Live): void {
    if (this.#rotating !== live || !live.open) return;
    const old = this.#primary;
    this.#rotating = undefined;
    this.#primary = live;
    this.#ageTimer(live);
    if (old !== undefined) {
      this.#o.onEvent?.({ type: 'rotated', from: old.conn.id, to: live.conn.id });
      this.#end(old, 'rotated', 'replaced by a newer connection', 1000);
    }
  }

  /** Rotate `live` when it reaches the venue's connection age limit. */
  #ageTimer(live: Live): void {
    const maxAge = this.#o.maxConnectionAgeMs;
    if (maxAge !== undefined) live.timers.push(this.#clock.setTimeout(() => this.rotate(), maxAge));
  }

  #end(live: Live, cause: CloseCause, detail: string, code?: number): void {
    live.cause ??= cause;
    if (live.detail === '') live.detail = detail;
    live.pacer.detach();
    if (code !== undefined && live.ws.readyState === WebSocket.OPEN) live.ws.close(code, cause);
    else live.ws.terminate();
  }

  #closed(live: Live, code: number, reason: string): void {
    const wasOpen = live.open;
    live.open = false;
    for (const t of live.timers) this.#clock.clearTimeout(t);
    live.timers.length = 0;
    live.pacer.detach();
    this.#live.delete(live.conn.id);
    const cause: CloseCause = live.cause ?? (code === 1006 ? 'dropped' : 'closed_by_venue');
    const lifetimeMs = wasOpen ? this.#clock.now() - live.openedAt : 0;
    this.#o.onEvent?.({ type: 'closed', connection: live.conn.id, cause, code, detail: live.detail || reason, lifetimeMs });
    if (wasOpen) this.#o.handler.closed?.(live.conn);
    if (this.#stopping) {
      if (this.#live.size === 0) for (const w of this.#closedWaiters.splice(0)) w();
      return;
    }
    if (this.#rotating === live) {
      this.#rotating = undefined;
      return; // the old connection carries on; the venue's own cut, if it comes, reconnects
    }
    if (this.#primary !== live) return; // a replaced connection
    this.#primary = undefined;
    if (this.#rotating !== undefined) {
      // The replacement already connects: it takes over at once (its age timer starts now, or when it opens).
      const next = this.#rotating;
      this.#rotating = undefined;
      this.#primary = next;
      if (next.open) this.#ageTimer(next);
      return;
    }
    if (lifetimeMs >= (this.#o.stableAfterMs ?? 10_000)) this.#backoff.reset();
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#stopping || this.#reconnectTimer !== undefined) return;
    const attempt = this.#backoff.attempt;
    const delayMs = this.#backoff.next();
    this.#o.onEvent?.({ type: 'reconnect-scheduled', delayMs, attempt });
    this.#reconnectTimer = this.#clock.setTimeout(() => {
      this.#reconnectTimer = undefined;
      this.#connect(false);
    }, delayMs);
  }
}
