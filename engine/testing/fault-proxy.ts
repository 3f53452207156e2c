/**
 * A TCP proxy that injects faults between the engine node and one of its
 * services (NATS, Postgres): delay with jitter, order kept per direction;
 * stalls (what packet loss looks like to the application once TCP has
 * retransmitted); and a blackhole partition that holds every byte without
 * closing anything, as a dropped link does. Bytes are never altered or
 * reordered: the faults are in time, never in content.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

/** Options of {@link FaultProxy}. */
export interface FaultProxyOptions {
  /** Address the proxy listens on. */
  readonly listenHost: string;
  /** Port it listens on. @default 0 (any free port) */
  readonly listenPort?: number;
  /** Where it forwards. */
  readonly targetHost: string;
  readonly targetPort: number;
  /** Source of the jitter and the stalls, in [0, 1); a seeded one replays them. @default Math.random */
  readonly random?: () => number;
}

/** The fault in force; faults compose (a delayed link can also be cut). */
export interface ProxyFaults {
  /** Mean one-way delay per chunk, each direction. @default 0 */
  delayMs: number;
  /** Uniform jitter around the mean delay. @default 0 */
  jitterMs: number;
  /** Probability that a chunk stalls as a lost segment would (retransmit pause). @default 0 */
  stallProbability: number;
  /** Stall length range, as TCP's first retransmit timeouts. @default [200, 1000] */
  stallMs: [number, number];
  /** Hold every byte in both directions until healed (a partition). @default false */
  blackhole: boolean;
  /** Hold the bytes toward the client only (requests arrive, replies do not). @default false */
  holdReplies: boolean;
}

interface Pipe {
  queue: Array<{ at: number; data: Buffer }>;
  timer: NodeJS.Timeout | undefined;
  last: number;
  to: Socket;
  down: boolean;
}

/** A fault-injecting TCP forwarder; see the module comment. */
export class FaultProxy {
  readonly faults: ProxyFaults = {
    delayMs: 0,
    jitterMs: 0,
    stallProbability: 0,
    stallMs: [200, 1_000],
    blackhole: false,
    holdReplies: false,
  };
  readonly #o: FaultProxyOptions;
  readonly #server: Server;
  readonly #pipes = new Set<Pipe>();
  readonly #sockets = new Set<Socket>();
  #port = 0;

  private constructor(o: FaultProxyOptions) {
    this.#o = o;
    this.#server = createServer((client) => this.#accept(client));
  }

  /** Listen; resolves once bound. */
  static async start(o: FaultProxyOptions): Promise<FaultProxy> {
    const p = new FaultProxy(o);
    await new Promise<void>((resolve, reject) => {
      p.#server.once('error', reject);
      p.#server.listen(o.listenPort ?? 0, o.listenHost, () => resolve());
    });
    p.#port = (p.#server.address() as { port: number }).port;
    return p;
  }

  get port(): number {
    return this.#port;
  }

  /** Connections currently open through the proxy. */
  get connections(): number {
    return this.#sockets.size / 2;
  }

  /** Back to a clean link; held bytes flow again, in order. */
  heal(): void {
    Object.assign(this.faults, { delayMs: 0, jitterMs: 0, stallProbability: 0, blackhole: false, holdReplies: false });
    for (const p of this.#pipes) this.#pump(p);
  }

  /** Reset every open connection (both ends), as a link dying would; held bytes are dropped. */
  resetAll(): void {
    for (const s of this.#sockets) s.resetAndDestroy();
  }

  /** Stop listening and close every connection. */
  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((r) => this.#server.close(() => r()));
  }

  #accept(client: Socket): void {
    const upstream = connect({ host: this.#o.targetHost, port: this.#o.targetPort });
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    this.#sockets.add(client).add(upstream);
    const up: Pipe = { queue: [], timer: undefined, last: 0, to: upstream, down: false };
    const down: Pipe = { queue: [], timer: undefined, last: 0, to: client, down: true };
    this.#pipes.add(up).add(down);
    const end = (): void => {
      client.destroy();
      upstream.destroy();
      for (const p of [up, down]) {
        clearTimeout(p.timer);
        this.#pipes.delete(p);
      }
      this.#sockets.delete(client);
      this.#sockets.delete(upstream);
    };
    client.on('data', (d) => this.#enqueue(up, d));
    upstream.on('data', (d) => this.#enqueue(down, d));
    for (const s of [client, upstream]) {
      s.on('error', end);
      s.on('close', end);
    }
  }

  #enqueue(p: Pipe, data: Buffer): void {
    const f = this.faults;
    const random = this.#o.random ?? Math.random;
    let at = Date.now();
    if (f.delayMs > 0) at += Math.max(0, f.delayMs + (random() * 2 - 1) * f.jitterMs);
    if (f.stallProbability > 0 && random() < f.stallProbability) at += f.stallMs[0] + random() * (f.stallMs[1] - f.stallMs[0]);
    at = Math.max(at, p.last); // a stream: nothing overtakes what was sent before it
    p.last = at;
    p.queue.push({ at, data });
    this.#pump(p);
  }

  #pump(p: Pipe): void {
    clearTimeout(p.timer);
    p.timer = undefined;
    if (this.faults.blackhole || (p.down && this.faults.holdReplies)) return;
    const now = Date.now();
    while (p.queue.length > 0 && p.queue[0]!.at <= now) p.to.write(p.queue.shift()!.data);
    if (p.queue.length > 0) p.timer = setTimeout(() => this.#pump(p), p.queue[0]!.at - now);
    else p.last = Math.min(p.last, now);
  }
}
