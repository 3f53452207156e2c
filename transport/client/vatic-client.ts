/**
 * A small typed client of protocol v1, for the browser console, the tests and
 * the bench. It authenticates, subscribes, numbers what it receives per
 * assessment, detects any gap in seq and resumes from the last frame it
 * holds (the server replays the missed frames or sends a fresh snapshot),
 * and answers each order with the server's ack or reject.
 *
 * Runs wherever a WHATWG-style WebSocket exists: pass the constructor (the
 * browser's `WebSocket`, or the `ws` package's in Node).
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { ClientFrame, OrderOp, ServerFrame } from '../protocol/index.js';

/** Minimal WebSocket surface the client uses. */
export interface SocketLike {
  binaryType: string;
  readonly readyState: number;
  send(data: Uint8Array | string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}
export type SocketConstructor = new (url: string, protocols: string | string[]) => SocketLike;

/** What a subscription reports. */
export interface StreamHandlers {
  onSnapshot?(state: unknown, at: { epoch: number; seq: number }): void;
  onDelta?(delta: unknown, at: { epoch: number; seq: number }): void;
  onEvent?(event: unknown, at: { epoch: number; seq: number }): void;
  /** A live pass-probability estimate (unnumbered: the latest one is what counts). */
  onEstimate?(estimate: Extract<ServerFrame, { t: 'estimate' }>): void;
  /** A report of the assessment is ready (unnumbered). */
  onReport?(report: Extract<ServerFrame, { t: 'report' }>): void;
  /** A gap was seen (or the server asked to resync); the client is resuming. */
  onGap?(info: { expected: number; got: number }): void;
}

/** Options of {@link VaticClient.connect}. */
export interface VaticClientOptions {
  readonly WebSocket: SocketConstructor;
  /** @default 'vatic.v1.msgpack' */
  readonly protocol?: 'vatic.v1.msgpack' | 'vatic.v1.json';
  /** @default 10_000 */
  readonly timeoutMs?: number;
  /**
   * A fresh token for the same trader, asked this long before the session's token expires and sent as a
   * re-auth frame on the same socket (the gateway closes a session with TOKEN_EXPIRED at its token's `exp`).
   * @default none: the session ends when its token does
   */
  readonly refreshToken?: () => Promise<string>;
  /** How long before `exp` {@link refreshToken} is asked, ms. @default 30_000 */
  readonly refreshBeforeMs?: number;
}

/** A refusal from the server (error or reject frame). */
export class ProtocolError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(`${code}: ${message}`);
    this.name = 'ProtocolError';
    this.code = code;
  }
}

interface Stream {
  epoch: number;
  seq: number;
  handlers: StreamHandlers;
  resuming: boolean;
}

export class VaticClient {
  readonly #ws: SocketLike;
  readonly #binary: boolean;
  readonly #timeoutMs: number;
  readonly #enc = new Encoder({ ignoreUndefined: true });
  readonly #dec = new Decoder();
  readonly #pending = new Map<
    string | number,
    { resolve: (f: ServerFrame) => void; reject: (e: Error) => void; timer: ReturnType<typeof setTimeout> }
  >();
  readonly #streams = new Map<string, Stream>();
  #next = 0;
  /** Gaps detected so far (each one triggered a resume). */
  gaps = 0;
  /** Every error frame the server sent without a request id. */
  readonly errors: Array<{ code: string; message: string }> = [];
  /** Close code and reason once closed. */
  closed: { code: number; reason: string } | undefined;
  readonly #closedWaiters: Array<(c: { code: number; reason: string }) => void> = [];
  traderId = '';
  /** When the session's token expires, epoch ms (moved by {@link reauth}). */
  expiresAt = 0;
  readonly #refresh: { readonly token: () => Promise<string>; readonly beforeMs: number } | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;

  private constructor(ws: SocketLike, binary: boolean, o: VaticClientOptions) {
    this.#ws = ws;
    this.#binary = binary;
    this.#timeoutMs = o.timeoutMs ?? 10_000;
    this.#refresh = o.refreshToken === undefined ? undefined : { token: o.refreshToken, beforeMs: o.refreshBeforeMs ?? 30_000 };
    ws.onmessage = (ev) => this.#onFrame(ev.data);
    ws.onclose = (ev) => {
      clearTimeout(this.#refreshTimer);
      this.closed = { code: ev.code, reason: ev.reason };
      for (const p of this.#pending.values()) p.reject(new ProtocolError('CLOSED', `connection closed (${ev.code} ${ev.reason})`));
      this.#pending.clear();
      for (const w of this.#closedWaiters.splice(0)) w(this.closed);
    };
  }

  /** Open, authenticate; resolves once the server says `ready`. */
  static async connect(url: string, token: string, o: VaticClientOptions): Promise<VaticClient> {
    const protocol = o.protocol ?? 'vatic.v1.msgpack';
    const ws = new o.WebSocket(url, protocol);
    ws.binaryType = 'arraybuffer';
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
      ws.onclose = (ev) => reject(new ProtocolError('CLOSED', `closed before open (${ev.code} ${ev.reason})`));
    });
    const client = new VaticClient(ws, protocol === 'vatic.v1.msgpack', o);
    const ready = (await client.#request('ready', { t: 'auth', token })) as Extract<ServerFrame, { t: 'ready' }>;
    client.traderId = ready.traderId;
    client.#expires(ready.expiresAt);
    return client;
  }

  /**
   * Send a new token for the same trader on this socket: the session goes on under it, past the old
   * token's expiry. Resolves with the new expiry; rejects (AUTH_FAILED) when the gateway refused it.
   */
  async reauth(token: string): Promise<number> {
    const f = (await this.#request('reauth', { t: 'auth', token })) as Extract<ServerFrame, { t: 'reauthenticated' }>;
    this.#expires(f.expiresAt);
    return f.expiresAt;
  }

  /** Note the expiry; with a refresher, re-auth ahead of it. */
  #expires(at: number): void {
    this.expiresAt = at;
    const refresh = this.#refresh;
    if (refresh === undefined || this.closed !== undefined) return;
    clearTimeout(this.#refreshTimer);
    this.#refreshTimer = setTimeout(
      () => {
        void refresh
          .token()
          .then((t) => this.reauth(t))
          .catch((err: unknown) =>
            this.errors.push({ code: (err as { code?: string }).code ?? 'REFRESH_FAILED', message: String((err as Error).message ?? err) }),
          );
      },
      Math.min(2 ** 31 - 1, Math.max(0, at - refresh.beforeMs - Date.now())),
    );
    (this.#refreshTimer as { unref?: () => void }).unref?.();
  }

  /** Subscribe: resolves with the snapshot's position once it arrived. */
  async subscribe(assessmentId: string, handlers: StreamHandlers = {}): Promise<{ epoch: number; seq: number }> {
    const stream: Stream = { epoch: 0, seq: 0, handlers, resuming: true };
    this.#streams.set(assessmentId, stream);
    const id = ++this.#next;
    try {
      const snap = (await this.#request(id, { t: 'sub', id, assessmentId })) as Extract<ServerFrame, { t: 'snapshot' }>;
      return { epoch: snap.epoch, seq: snap.seq };
    } catch (err) {
      this.#streams.delete(assessmentId);
      throw err;
    }
  }

  /** Where this client stands on a stream. */
  position(assessmentId: string): { epoch: number; seq: number } | undefined {
    const s = this.#streams.get(assessmentId);
    return s === undefined ? undefined : { epoch: s.epoch, seq: s.seq };
  }

  /** Place, modify, cancel, close a position or flatten: resolves with the durable position, rejects with the reason. */
  async order(assessmentId: string, order: OrderOp): Promise<number> {
    const id = ++this.#next;
    const ack = (await this.#request(id, { t: 'order', id, assessmentId, order })) as Extract<ServerFrame, { t: 'ack' }>;
    return ack.position;
  }

  /** Round trip time, ms. */
  async ping(): Promise<number> {
    const ts = Date.now();
    await this.#request('pong', { t: 'ping', ts });
    return Date.now() - ts;
  }

  /** Send raw bytes or text (tests of the server's refusals). */
  sendRaw(data: Uint8Array | string): void {
    this.#ws.send(data);
  }

  /** Resolves with the close code and reason. */
  whenClosed(): Promise<{ code: number; reason: string }> {
    return this.closed !== undefined ? Promise.resolve(this.closed) : new Promise((r) => this.#closedWaiters.push(r));
  }

  close(): void {
    clearTimeout(this.#refreshTimer);
    this.#ws.close(1000, 'bye');
  }

  #request(key: string | number, frame: ClientFrame): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        reject(new ProtocolError('TIMEOUT', `no answer to ${frame.t} within ${this.#timeoutMs} ms`));
      }, this.#timeoutMs);
      this.#pending.set(key, { resolve, reject, timer });
      this.#ws.send(this.#binary ? this.#enc.encode(frame) : JSON.stringify(frame));
    });
  }

  #settle(key: string | number | undefined, frame: ServerFrame, error?: Error): boolean {
    if (key === undefined) return false;
    const p = this.#pending.get(key);
    if (p === undefined) return false;
    this.#pending.delete(key);
    clearTimeout(p.timer);
    if (error !== undefined) p.reject(error);
    else p.resolve(frame);
    return true;
  }

  #onFrame(data: unknown): void {
    const f = (typeof data === 'string' ? JSON.parse(data) : this.#dec.decode(new Uint8Array(data as ArrayBuffer))) as ServerFrame;
    switch (f.t) {
      case 'ready':
        this.#settle('ready', f);
        break;
      case 'reauthenticated':
        this.#settle('reauth', f);
        break;
      case 'pong':
        this.#settle('pong', f);
        break;
      case 'ack':
        this.#settle(f.id, f);
        break;
      case 'reject':
        this.#settle(f.id, f, new ProtocolError(f.code, f.message));
        break;
      case 'error':
        if (
          !this.#settle(
            f.id ?? (this.#pending.has('ready') ? 'ready' : f.code === 'AUTH_FAILED' && this.#pending.has('reauth') ? 'reauth' : undefined),
            f,
            new ProtocolError(f.code, f.message),
          )
        )
          this.errors.push({ code: f.code, message: f.message });
        break;
      case 'snapshot': {
        const s = this.#streams.get(f.assessmentId);
        if (s !== undefined) {
          s.epoch = f.epoch;
          s.seq = f.seq;
          s.resuming = false;
          s.handlers.onSnapshot?.(f.state, { epoch: f.epoch, seq: f.seq });
        }
        if (f.id !== undefined) this.#settle(f.id, f);
        break;
      }
      case 'resumed': {
        const s = this.#streams.get(f.assessmentId);
        if (s !== undefined) s.resuming = false;
        if (f.id !== undefined) this.#settle(f.id, f);
        break;
      }
      case 'delta':
      case 'event': {
        const s = this.#streams.get(f.assessmentId);
        if (s === undefined) break;
        if (f.epoch === s.epoch && f.seq <= s.seq) break; // already held (a replay overlapping what arrived)
        if (f.epoch !== s.epoch || f.seq !== s.seq + 1) {
          this.#gap(f.assessmentId, s, f.seq);
          break;
        }
        s.seq = f.seq;
        if (f.t === 'delta') s.handlers.onDelta?.(f.delta, { epoch: f.epoch, seq: f.seq });
        else s.handlers.onEvent?.(f.event, { epoch: f.epoch, seq: f.seq });
        break;
      }
      case 'resync': {
        const s = this.#streams.get(f.assessmentId);
        if (s !== undefined) this.#gap(f.assessmentId, s, s.seq);
        break;
      }
      case 'unsubscribed':
        this.#settle(f.id, f);
        break;
      case 'estimate':
        this.#streams.get(f.assessmentId)?.handlers.onEstimate?.(f);
        break;
      case 'report':
        this.#streams.get(f.assessmentId)?.handlers.onReport?.(f);
        break;
    }
  }

  /** Ask for everything after the last frame held; frames arriving meanwhile are ignored until it is answered. */
  #gap(assessmentId: string, s: Stream, got: number): void {
    if (s.resuming) return;
    s.resuming = true;
    this.gaps++;
    s.handlers.onGap?.({ expected: s.seq + 1, got });
    const id = ++this.#next;
    this.#request(id, { t: 'sub', id, assessmentId, resume: { epoch: s.epoch, seq: s.seq } }).catch(() => {
      s.resuming = false;
    });
  }
}
