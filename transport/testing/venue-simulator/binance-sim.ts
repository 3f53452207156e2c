/**
 * Binance spot combined streams: `/stream?streams=<sym>@bookTicker/...`,
 * frames `{stream, data: {u, s, b, B, a, A}}`, server pings, a connection
 * age limit, `serverShutdown`, and SUBSCRIBE/UNSUBSCRIBE control messages
 * answered `{result: null, id}`. Test code only.
 */
import { SimRecord, type BadKind, type Top } from './sim-record.js';
import { SimulatorServer, type SimConnection } from './simulator-server.js';
import { gaussian, seeded, type VenueSim, type VenueSimOptions } from './venue-sim.js';

/** Options of {@link BinanceSim.start}. */
export interface BinanceSimOptions extends VenueSimOptions {
  /** Binance symbol → opening mid. */
  readonly symbols: Readonly<Record<string, number>>;
}

interface SymbolState {
  u: number;
  mid: number;
  spread: number;
  bidSize: number;
  askSize: number;
}

const fmt = (n: number): string => n.toFixed(2);

/** See the module comment. */
export class BinanceSim implements VenueSim {
  readonly venue = 'binance' as const;
  readonly record = new SimRecord();
  readonly supports: ReadonlySet<BadKind> = new Set(['malformed', 'out-of-range', 'crossed', 'locked', 'spike', 'unknown-instrument']);
  readonly server: SimulatorServer;
  readonly #state = new Map<string, SymbolState>();
  readonly #subs = new Map<SimConnection, Set<string>>();
  readonly #random: () => number;

  private constructor(server: SimulatorServer, options: BinanceSimOptions, random: () => number) {
    this.server = server;
    this.#random = random;
    for (const [s, mid] of Object.entries(options.symbols))
      this.#state.set(s, { u: 1_000, mid, spread: Math.max(0.01, Number(fmt(mid * 0.0001))), bidSize: 1, askSize: 1 });
  }

  static async start(options: BinanceSimOptions): Promise<BinanceSim> {
    let sim: BinanceSim | undefined;
    const server = await SimulatorServer.start(
      {
        pingIntervalMs: options.heartbeatMs ?? 100,
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.inboundLimitPerSecond === undefined ? {} : { inboundLimitPerSecond: options.inboundLimitPerSecond }),
        ...(options.maxConnectionAgeMs === undefined ? {} : { maxConnectionAgeMs: options.maxConnectionAgeMs }),
      },
      (c) => sim!.#connect(c),
    );
    sim = new BinanceSim(server, options, seeded(options.seed ?? 'binance'));
    return sim;
  }

  get url(): string {
    return this.server.url;
  }

  instruments(): string[] {
    return [...this.#state.keys()];
  }

  subscribed(instrument: string): boolean {
    return [...this.#subs].some(([c, s]) => c.live && s.has(instrument));
  }

  #connect(c: SimConnection): void {
    const streams = new URL(c.url, 'ws://x').searchParams.get('streams') ?? '';
    const subs = new Set<string>();
    for (const stream of streams.split('/')) {
      const [sym, kind] = stream.split('@');
      const upper = (sym ?? '').toUpperCase();
      if (kind === 'bookTicker' && this.#state.has(upper)) subs.add(upper);
    }
    this.#subs.set(c, subs);
    void c.closed.then(() => this.#subs.delete(c));
    c.onMessage = (text) => {
      const m = JSON.parse(text) as { method?: string; params?: string[]; id?: number };
      for (const stream of m.params ?? []) {
        const upper = (stream.split('@')[0] ?? '').toUpperCase();
        if (m.method === 'SUBSCRIBE' && this.#state.has(upper)) subs.add(upper);
        if (m.method === 'UNSUBSCRIBE') subs.delete(upper);
      }
      c.send(JSON.stringify({ result: null, id: m.id ?? null }));
    };
  }

  /** Announce a shutdown on every connection (`{"e":"serverShutdown"}`). */
  announceShutdown(): void {
    for (const c of this.#subs.keys()) c.send(JSON.stringify({ e: 'serverShutdown', E: Date.now() }));
  }

  /** Move a symbol's level for good (a real market move), then send one update at it. */
  move(symbol: string, factor: number): void {
    this.#state.get(symbol)!.mid *= factor;
    this.step(symbol);
  }

  step(symbol: string): void {
    const s = this.#state.get(symbol)!;
    // A small walk: even thousands of updates missed during an outage stay well inside a 5 % jump band.
    s.mid = Math.max(1, s.mid * (1 + gaussian(this.#random) * 0.00002));
    s.bidSize = Number((0.1 + this.#random() * 5).toFixed(4));
    s.askSize = Number((0.1 + this.#random() * 5).toFixed(4));
    s.u++;
    const bid = fmt(s.mid - s.spread / 2);
    const ask = fmt(Number(bid) + s.spread);
    this.#send(symbol, { u: s.u, s: symbol, b: bid, B: String(s.bidSize), a: ask, A: String(s.askSize) }, (conn, top) =>
      this.record.good(conn, symbol, top),
    );
  }

  inject(symbol: string, kind: BadKind): void {
    const s = this.#state.get(symbol)!;
    const bid = Number(fmt(s.mid - s.spread / 2));
    const ask = Number(fmt(bid + s.spread));
    const base = { s: symbol, B: '1', A: '1' };
    switch (kind) {
      case 'malformed':
        this.#send(symbol, { ...base, u: 'not a number', b: fmt(bid), a: fmt(ask) }, (c) =>
          this.record.bad(c, symbol, 'MALFORMED_MESSAGE'),
        );
        return;
      case 'out-of-range':
        this.#send(symbol, { ...base, u: s.u + 1, b: '0.00000000', a: fmt(ask) }, (c) => this.record.bad(c, symbol, 'PRICE_OUT_OF_RANGE'));
        return;
      case 'crossed':
        this.#send(symbol, { ...base, u: s.u + 1, b: fmt(ask + s.spread), a: fmt(ask) }, (c) => this.record.bad(c, symbol, 'CROSSED_BOOK'));
        return;
      case 'locked':
        s.u++;
        this.#send(symbol, { ...base, u: s.u, b: fmt(ask), a: fmt(ask) }, (c, top) => this.record.bad(c, symbol, 'LOCKED_BOOK', top));
        return;
      case 'spike':
        // A bad print, then the venue's next update back at the level.
        s.u++;
        this.#send(symbol, { ...base, u: s.u, b: fmt(bid * 1.3), a: fmt(bid * 1.3 + s.spread) }, (c, top) =>
          this.record.bad(c, symbol, 'PRICE_JUMP', top),
        );
        this.step(symbol);
        return;
      case 'unknown-instrument':
        this.#send(symbol, { ...base, u: s.u + 1, s: 'NOTLISTEDUSDT', b: fmt(bid), a: fmt(ask) }, (c) =>
          this.record.bad(c, '', 'UNKNOWN_INSTRUMENT'),
        );
        return;
      default:
        throw new Error(`binance cannot carry ${kind}`);
    }
  }

  #send(symbol: string, data: Record<string, unknown>, onSent: (conn: number, top: Top) => void): void {
    const b = Number(data['b']);
    const a = Number(data['a']);
    const top: Top = {
      bid: b,
      ask: a,
      ...(Number(data['B']) > 0 ? { bidSize: Number(data['B']) } : {}),
      ...(Number(data['A']) > 0 ? { askSize: Number(data['A']) } : {}),
    };
    const frame = JSON.stringify({ stream: `${symbol.toLowerCase()}@bookTicker`, data });
    for (const [c, subs] of this.#subs) if (subs.has(symbol) && c.send(frame)) onSent(c.id, top);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}
