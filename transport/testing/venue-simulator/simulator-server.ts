/**
 * The WebSocket server under every venue simulator: a real server on
 * 127.0.0.1 (port 0) that a venue protocol plugs into, with the faults the
 * connectors must survive — refused handshakes, abrupt drops, stalled
 * connections (no data, no pongs), a connection age limit, an inbound
 * message rate limit that cuts the connection, and handshake verification.
 * Test code only.
 */
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { WebSocketServer, WebSocket } from 'ws';

/** Options of {@link SimulatorServer.start}. */
export interface SimulatorServerOptions {
  /** Port on 127.0.0.1. @default 0 (any free port) */
  readonly port?: number;
  /** Path accepted (others answer 404). @default '/' and anything */
  readonly path?: string;
  /** Return a refusal (HTTP 401) or undefined to accept; e.g. Kalshi's signature check. */
  readonly verifyHandshake?: (req: IncomingMessage) => string | undefined;
  /** More text messages than this within any 1 s closes the connection with 1008. @default none */
  readonly inboundLimitPerSecond?: number;
  /** A connection this old is dropped (Binance's 24 h cut, shortened). @default none */
  readonly maxConnectionAgeMs?: number;
  /** Ping every live connection this often (Binance every 20 s, Kalshi every 10 s). @default none */
  readonly pingIntervalMs?: number;
}

/** One client connection as a venue protocol sees it. */
export class SimConnection {
  readonly id: number;
  /** Request URL (path and query). */
  readonly url: string;
  readonly headers: IncomingMessage['headers'];
  /** Text messages received, in order. */
  readonly received: string[] = [];
  /** Set by the venue protocol: called for each text message. */
  onMessage: (text: string) => void = () => {};
  /** Resolves when the connection is closed. */
  readonly closed: Promise<void>;
  /** The close code and reason the client sent (1005 when none, 1006 when the link just ended). */
  closeCode: number | undefined;
  closeReason = '';
  #ws: WebSocket;
  #stalled = false;
  #ending = false;
  #inbound: number[] = [];
  #open = true;

  constructor(id: number, ws: WebSocket, req: IncomingMessage, server: SimulatorServer, options: SimulatorServerOptions) {
    this.id = id;
    this.#ws = ws;
    this.url = req.url ?? '/';
    this.headers = req.headers;
    this.closed = new Promise((resolve) =>
      ws.once('close', (code, reason) => {
        this.#open = false;
        this.closeCode = code;
        this.closeReason = reason.toString();
        resolve();
      }),
    );
    ws.on('ping', (data) => {
      if (!this.#stalled && !this.#ending) ws.pong(data);
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary || !this.#open) return;
      const text = data.toString();
      this.received.push(text);
      const limit = options.inboundLimitPerSecond;
      if (limit !== undefined) {
        const now = performance.now();
        this.#inbound.push(now);
        while (this.#inbound.length > 0 && now - this.#inbound[0]! > 1_000) this.#inbound.shift();
        if (this.#inbound.length > limit) {
          server.throttled++;
          this.close(1008, 'too many messages');
          return;
        }
      }
      if (!this.#stalled && !this.#ending) this.onMessage(text);
    });
  }

  /** Whether the connection is open and neither stalled nor ending. */
  get live(): boolean {
    return this.#open && !this.#stalled && !this.#ending && this.#ws.readyState === WebSocket.OPEN;
  }

  get stalled(): boolean {
    return this.#stalled;
  }

  /** Send a text frame if the connection is live; false if it was not sent. */
  send(text: string): boolean {
    if (!this.live) return false;
    this.#ws.send(text);
    return true;
  }

  /** Ping the client (skipped while stalled). */
  ping(): void {
    if (this.live) this.#ws.ping();
  }

  /** Go silent: no data and no pongs, until the client gives up. */
  stall(): void {
    this.#stalled = true;
  }

  /** Close with a close frame (what was sent before is delivered). */
  close(code = 1000, reason = ''): void {
    if (this.#ending) return;
    this.#ending = true;
    this.#ws.close(code, reason);
  }

  /**
   * Drop the link with no close frame: what was sent before is flushed, then
   * the TCP connection ends (the client sees 1006).
   */
  drop(): void {
    if (this.#ending) return;
    this.#ending = true;
    const socket = (this.#ws as unknown as { _socket?: Socket })._socket;
    if (socket !== undefined) socket.end();
    else this.#ws.terminate();
  }
}

/** See the module comment. */
export class SimulatorServer {
  readonly #wss: WebSocketServer;
  readonly #options: SimulatorServerOptions;
  readonly #connections = new Set<SimConnection>();
  #nextId = 1;
  #reject: Array<number> = [];
  /** ws://127.0.0.1:port + path */
  readonly url: string;
  /** Handshakes accepted. */
  handshakes = 0;
  /** Handshakes refused, with their status. */
  readonly refused: number[] = [];
  /** Connections cut for sending too fast. */
  throttled = 0;

  private constructor(wss: WebSocketServer, options: SimulatorServerOptions, onConnection: (c: SimConnection) => void) {
    this.#wss = wss;
    this.#options = options;
    const { port } = wss.address() as { port: number };
    this.url = `ws://127.0.0.1:${port}${options.path ?? ''}`;
    wss.on('connection', (ws, req) => {
      this.handshakes++;
      const conn = new SimConnection(this.#nextId++, ws, req, this, options);
      this.#connections.add(conn);
      void conn.closed.then(() => this.#connections.delete(conn));
      if (options.pingIntervalMs !== undefined) {
        const t = setInterval(() => conn.ping(), options.pingIntervalMs);
        void conn.closed.then(() => clearInterval(t));
      }
      if (options.maxConnectionAgeMs !== undefined) {
        const t = setTimeout(() => conn.drop(), options.maxConnectionAgeMs);
        void conn.closed.then(() => clearTimeout(t));
      }
      onConnection(conn);
    });
  }

  /** Start a server on 127.0.0.1 (a free port); `onConnection` speaks the venue's protocol. */
  static start(options: SimulatorServerOptions, onConnection: (c: SimConnection) => void): Promise<SimulatorServer> {
    return new Promise((resolve, reject) => {
      let server: SimulatorServer | undefined;
      const wss = new WebSocketServer(
        {
          host: '127.0.0.1',
          port: options.port ?? 0,
          autoPong: false,
          perMessageDeflate: false,
          verifyClient: (info, done) => {
            const status = server === undefined ? 503 : server.#handshakeRefusal(info.req);
            if (status === undefined) done(true);
            else done(false, status, status === 401 ? 'Unauthorized' : status === 404 ? 'Not Found' : 'Service Unavailable');
          },
        },
        () => {
          server = new SimulatorServer(wss, options, onConnection);
          resolve(server);
        },
      );
      wss.once('error', reject);
    });
  }

  #handshakeRefusal(req: IncomingMessage): number | undefined {
    let status: number | undefined;
    const path = (req.url ?? '/').split('?')[0];
    if (this.#reject.length > 0) status = this.#reject.shift();
    else if (this.#options.path !== undefined && path !== this.#options.path) status = 404;
    else if (this.#options.verifyHandshake?.(req) !== undefined) status = 401;
    if (status !== undefined) this.refused.push(status);
    return status;
  }

  /** Open connections. */
  get connections(): ReadonlySet<SimConnection> {
    return this.#connections;
  }

  /** Refuse the next `n` handshakes with `status`. */
  rejectNextHandshakes(n: number, status = 503): void {
    for (let k = 0; k < n; k++) this.#reject.push(status);
  }

  /** Drop every open connection (no close frame). */
  dropAll(): void {
    for (const c of this.#connections) c.drop();
  }

  /** Stall every open connection. */
  stallAll(): void {
    for (const c of this.#connections) c.stall();
  }

  /** Close every connection and the server. */
  async stop(): Promise<void> {
    for (const c of this.#connections) c.drop();
    await Promise.all([...this.#connections].map((c) => c.closed));
    await new Promise<void>((resolve) => this.#wss.close(() => resolve()));
  }
}
