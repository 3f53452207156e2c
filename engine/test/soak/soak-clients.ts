/**
 * The soak run's WebSocket clients: client `i` is demo trader
 * `trader-<i+1>` (the token is signed with the secret the soak gave the
 * gateway), subscribes to its assessment `demo-<i+1>`, pings at the
 * heartbeat the server asks for, and places small market orders at the rate
 * it is told. Every order must be answered (`ack`, `reject` or `error` with
 * its request id); one still unanswered after `answerTimeoutMs` is counted.
 * Delta frames are only counted (recognised by their first bytes, not
 * decoded), so a thousand clients cost this process little.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { SignJWT } from 'jose';
import { WireSocket } from '../../testing/wire-socket.js';

/** Options of {@link SoakClients}. */
export interface SoakClientsOptions {
  readonly url: string;
  readonly secret: string;
  readonly count: number;
  /** Symbols orders are placed on. @default ['BTC-USD', 'ETH-USD', 'SOL-USD'] */
  readonly symbols?: readonly string[];
  /** An order unanswered this long counts as unanswered. @default 10000 */
  readonly answerTimeoutMs?: number;
}

/** Counters since the start, and order-answer latencies since the last {@link SoakClients.takeLatencies}. */
export interface ClientFigures {
  open: number;
  subscribed: number;
  closes: number;
  reconnects: number;
  frames: number;
  deltas: number;
  events: number;
  errors: number;
  /** Errors not answering an order, by code. */
  errorCodes: Record<string, number>;
  orders: number;
  acks: number;
  rejects: number;
  refused: number;
  unanswered: number;
  rejectCodes: Record<string, number>;
}

const DELTA = [0x85, 0xa1, 0x74, 0xa5, 0x64, 0x65, 0x6c, 0x74, 0x61]; // msgpack {t: 'delta', … (5 keys)
const pad = (n: number) => String(n).padStart(6, '0');

interface Client {
  ws: WireSocket | undefined;
  subscribed: boolean;
  lastPing: number;
}

/** A fleet of protocol-v1 clients; see the module comment. */
export class SoakClients {
  readonly figures: ClientFigures = {
    open: 0,
    subscribed: 0,
    closes: 0,
    reconnects: 0,
    frames: 0,
    deltas: 0,
    events: 0,
    errors: 0,
    errorCodes: {},
    orders: 0,
    acks: 0,
    rejects: 0,
    refused: 0,
    unanswered: 0,
    rejectCodes: {},
  };
  readonly #o: SoakClientsOptions;
  readonly #clients: Client[];
  readonly #pending = new Map<number, number>();
  readonly #enc = new Encoder();
  readonly #dec = new Decoder();
  #latencies: number[] = [];
  #nextId = 1;
  #orderNo = 0;
  #heartbeatMs = 30_000;
  #closed = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(o: SoakClientsOptions) {
    this.#o = o;
    this.#clients = Array.from({ length: o.count }, () => ({ ws: undefined, subscribed: false, lastPing: 0 }));
  }

  /** Connect, authenticate and subscribe every client (`concurrency` at a time); resolves when all are subscribed or `deadlineMs` passed. */
  async connectAll(concurrency = 50, deadlineMs = 120_000): Promise<void> {
    const end = Date.now() + deadlineMs;
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < this.#clients.length) {
          const i = next++;
          while (!this.#clients[i]!.subscribed && Date.now() < end && !this.#closed) {
            await this.#open(i).catch(() => new Promise((r) => setTimeout(r, 500)));
          }
        }
      }),
    );
    this.#timer = setInterval(() => this.#housekeep(), 1_000);
  }

  /** Place `n` orders from clients picked at random. */
  placeOrders(n: number): void {
    const symbols = this.#o.symbols ?? ['BTC-USD', 'ETH-USD', 'SOL-USD'];
    for (let k = 0; k < n; k++) {
      const i = Math.floor(Math.random() * this.#clients.length);
      const c = this.#clients[i]!;
      if (c.ws?.readyState !== WireSocket.OPEN || !c.subscribed) continue;
      const id = this.#nextId++;
      const no = this.#orderNo++;
      const symbol = symbols[no % symbols.length]!;
      const qty = symbol === 'BTC-USD' ? 0.001 : symbol === 'ETH-USD' ? 0.01 : 0.1;
      this.#pending.set(id, performance.now());
      this.figures.orders++;
      c.ws.send(
        this.#enc.encode({
          t: 'order',
          id,
          assessmentId: `demo-${pad(i + 1)}`,
          order: {
            op: 'place',
            clientOrderId: `soak-${process.pid}-${no}`,
            symbol,
            side: no % 2 === 0 ? 'buy' : 'sell',
            type: 'market',
            qty,
          },
        }),
      );
    }
  }

  /** Wait until every order sent is answered or `timeoutMs` passed; what is left counts as unanswered. */
  async settle(timeoutMs = this.#o.answerTimeoutMs ?? 10_000): Promise<void> {
    const end = Date.now() + timeoutMs;
    while (this.#pending.size > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    this.figures.unanswered += this.#pending.size;
    this.#pending.clear();
  }

  /** Order-answer latencies (ms) since the last call. */
  takeLatencies(): number[] {
    const l = this.#latencies;
    this.#latencies = [];
    return l;
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
    for (const c of this.#clients) c.ws?.close(1000, 'soak over');
  }

  async #open(i: number): Promise<void> {
    const c = this.#clients[i]!;
    const token = await new SignJWT({ roles: ['trader'] })
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject(`trader-${pad(i + 1)}`)
      .setIssuer('vatic')
      .setAudience('vatic-gateway')
      .setIssuedAt()
      .setExpirationTime('24h')
      .sign(new TextEncoder().encode(this.#o.secret));
    const ws = await WireSocket.open(this.#o.url, 'vatic.v1.msgpack');
    c.ws = ws;
    this.figures.open++;
    let answered: (ok: boolean) => void = () => undefined;
    const subscribed = new Promise<boolean>((r) => (answered = r));
    ws.onClose = () => {
      if (c.ws !== ws) return;
      this.figures.open--;
      if (c.subscribed) this.figures.subscribed--;
      c.subscribed = false;
      c.ws = undefined;
      answered(false);
      if (!this.#closed) {
        this.figures.closes++;
        setTimeout(
          () => {
            this.figures.reconnects++;
            void this.#open(i).catch(() => undefined);
          },
          1_000 + Math.random() * 2_000,
        );
      }
    };
    ws.onMessage = (data) => {
      this.figures.frames++;
      if (DELTA.every((b, k) => data[k] === b)) {
        this.figures.deltas++;
        return;
      }
      const f = this.#dec.decode(data) as { t: string; id?: number; code?: string; heartbeatMs?: number };
      switch (f.t) {
        case 'ready':
          if (f.heartbeatMs !== undefined) this.#heartbeatMs = f.heartbeatMs;
          ws.send(this.#enc.encode({ t: 'sub', id: 0, assessmentId: `demo-${pad(i + 1)}` }));
          break;
        case 'snapshot':
          if (f.id === 0) {
            c.subscribed = true;
            this.figures.subscribed++;
            answered(true);
          }
          break;
        case 'event':
          this.figures.events++;
          break;
        case 'ack':
        case 'reject':
        case 'error': {
          const sent = f.id === undefined ? undefined : this.#pending.get(f.id);
          if (sent !== undefined) {
            this.#pending.delete(f.id!);
            this.#latencies.push(performance.now() - sent);
            if (f.t === 'ack') this.figures.acks++;
            else {
              this.figures[f.t === 'reject' ? 'rejects' : 'refused']++;
              this.figures.rejectCodes[f.code ?? '?'] = (this.figures.rejectCodes[f.code ?? '?'] ?? 0) + 1;
            }
          } else if (f.t === 'error') {
            this.figures.errors++;
            this.figures.errorCodes[f.code ?? '?'] = (this.figures.errorCodes[f.code ?? '?'] ?? 0) + 1;
            if (f.id === 0) answered(false); // the sub was refused (assessment not created yet): retried
          }
          break;
        }
        default:
          break;
      }
    };
    ws.send(this.#enc.encode({ t: 'auth', token }));
    const ok = await Promise.race([subscribed, new Promise<boolean>((r) => setTimeout(() => r(false), 10_000))]);
    if (!ok && c.ws === ws) {
      c.ws = undefined;
      this.figures.open--;
      ws.close(1000, 'retrying');
      throw new Error(`client ${i} not subscribed`);
    }
  }

  #housekeep(): void {
    const now = performance.now();
    const limit = this.#o.answerTimeoutMs ?? 10_000;
    for (const [id, sent] of this.#pending) {
      if (now - sent < limit) break; // insertion order is send order
      this.#pending.delete(id);
      this.figures.unanswered++;
    }
    const ping = this.#enc.encode({ t: 'ping' });
    for (const c of this.#clients) {
      if (c.ws?.readyState === WireSocket.OPEN && now - c.lastPing > this.#heartbeatMs * 0.8) {
        c.lastPing = now - Math.random() * 1_000;
        c.ws.send(ping);
      }
    }
  }
}
