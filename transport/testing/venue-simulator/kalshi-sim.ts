/**
 * Kalshi trade API v2 WebSocket at `/trade-api/ws/v2`: the handshake must
 * carry a valid RSA-PSS signature (kalshi-auth.ts) for a known key, or it is
 * refused 401. Commands `{id, cmd: "subscribe" | "unsubscribe", params}`;
 * `orderbook_delta` answers `subscribed` with a `sid`, an
 * `orderbook_snapshot` per market, then `orderbook_delta` frames with `seq`
 * per sid; `ticker` frames carry yes bid/ask in cents; `market_lifecycle_v2`
 * carries determinations. The server pings every `heartbeatMs`. A gap is a
 * delta lost on its way: its sid's later frames are what a connector must
 * drop until it resubscribes. Test code only.
 */
import type { KeyObject } from 'node:crypto';
import { verifyKalshiHeaders } from '../../market-data/index.js';
import { SimRecord, type BadKind, type Top } from './sim-record.js';
import { SimulatorServer, type SimConnection } from './simulator-server.js';
import { seeded, type VenueSim, type VenueSimOptions } from './venue-sim.js';

/** Options of {@link KalshiSim.start}. */
export interface KalshiSimOptions extends VenueSimOptions {
  /** Market ticker → opening YES mid in cents. */
  readonly markets: Readonly<Record<string, number>>;
  /** API key id → public key; handshakes must be signed by one of them. @default no check */
  readonly keys?: ReadonlyMap<string, KeyObject | string>;
}

interface Book {
  readonly yes: Map<number, number>;
  readonly no: Map<number, number>;
}
interface Sub {
  readonly sid: number;
  readonly channel: string;
  readonly markets: Set<string>;
  seq: number;
  lost: boolean;
  gapPending: boolean;
}

const PATH = '/trade-api/ws/v2';

/** See the module comment. */
export class KalshiSim implements VenueSim {
  readonly venue = 'kalshi' as const;
  readonly record = new SimRecord();
  readonly supports: ReadonlySet<BadKind> = new Set([
    'malformed',
    'out-of-range',
    'crossed',
    'locked',
    'stale',
    'future',
    'gap',
    'unknown-instrument',
  ]);
  readonly server: SimulatorServer;
  readonly #books = new Map<string, Book>();
  readonly #conns = new Map<SimConnection, Map<number, Sub>>();
  readonly #random: () => number;
  /** Handshake refusals, with the reason. */
  readonly authFailures: string[] = [];

  private constructor(server: SimulatorServer, options: KalshiSimOptions, random: () => number) {
    this.server = server;
    this.#random = random;
    for (const [m, mid] of Object.entries(options.markets)) {
      const book: Book = { yes: new Map(), no: new Map() };
      for (let k = 0; k < 3; k++) {
        book.yes.set(mid - 1 - k, 100 * (k + 1));
        book.no.set(100 - mid - 1 - k, 100 * (k + 1));
      }
      this.#books.set(m, book);
    }
  }

  static async start(options: KalshiSimOptions): Promise<KalshiSim> {
    let sim: KalshiSim | undefined;
    const server = await SimulatorServer.start(
      {
        path: PATH,
        pingIntervalMs: options.heartbeatMs ?? 100,
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.inboundLimitPerSecond === undefined ? {} : { inboundLimitPerSecond: options.inboundLimitPerSecond }),
        ...(options.maxConnectionAgeMs === undefined ? {} : { maxConnectionAgeMs: options.maxConnectionAgeMs }),
        ...(options.keys === undefined
          ? {}
          : {
              verifyHandshake: (req) => {
                try {
                  verifyKalshiHeaders(req.headers, 'GET', PATH, options.keys!, Date.now());
                  return undefined;
                } catch (err) {
                  sim?.authFailures.push((err as Error).message);
                  return (err as Error).message;
                }
              },
            }),
      },
      (c) => sim!.#connect(c),
    );
    sim = new KalshiSim(server, options, seeded(options.seed ?? 'kalshi'));
    return sim;
  }

  get url(): string {
    return this.server.url;
  }

  instruments(): string[] {
    return [...this.#books.keys()];
  }

  subscribed(market: string): boolean {
    return [...this.#conns].some(
      ([c, subs]) => c.live && [...subs.values()].some((s) => s.channel === 'orderbook_delta' && !s.lost && s.markets.has(market)),
    );
  }

  /** The YES top of a market in engine units. */
  top(market: string): Top | undefined {
    const book = this.#books.get(market)!;
    const yes = best(book.yes);
    const no = best(book.no);
    if (yes === undefined || no === undefined) return undefined;
    return { bid: yes[0] / 100, ask: (100 - no[0]) / 100, bidSize: yes[1], askSize: no[1] };
  }

  #connect(c: SimConnection): void {
    const subs = new Map<number, Sub>();
    this.#conns.set(c, subs);
    void c.closed.then(() => this.#conns.delete(c));
    let nextSid = 1;
    c.onMessage = (text) => {
      const m = JSON.parse(text) as {
        id?: number;
        cmd?: string;
        params?: { channels?: string[]; market_tickers?: string[]; sids?: number[] };
      };
      if (m.cmd === 'unsubscribe') {
        for (const sid of m.params?.sids ?? []) {
          subs.delete(sid);
          c.send(JSON.stringify({ id: m.id, sid, seq: 1, type: 'unsubscribed' }));
        }
        return;
      }
      if (m.cmd !== 'subscribe') {
        c.send(JSON.stringify({ id: m.id, type: 'error', msg: { code: 5, msg: 'Unknown command' } }));
        return;
      }
      for (const channel of m.params?.channels ?? []) {
        const sub: Sub = {
          sid: nextSid++,
          channel,
          markets: new Set((m.params?.market_tickers ?? []).filter((t) => this.#books.has(t))),
          seq: 0,
          lost: false,
          gapPending: false,
        };
        subs.set(sub.sid, sub);
        c.send(JSON.stringify({ id: m.id, type: 'subscribed', msg: { channel, sid: sub.sid } }));
        if (channel !== 'orderbook_delta') continue;
        for (const market of sub.markets) {
          const book = this.#books.get(market)!;
          sub.seq++;
          const msg = { market_ticker: market, yes: levels(book.yes), no: levels(book.no) };
          if (c.send(JSON.stringify({ type: 'orderbook_snapshot', sid: sub.sid, seq: sub.seq, msg })))
            this.record.good(c.id, market, this.top(market));
        }
      }
    };
  }

  /** Send a delta on every orderbook subscription of the market; `kind` says what the record expects. */
  #delta(
    market: string,
    side: 'yes' | 'no',
    price: number,
    delta: number,
    expect: { bad?: 'CROSSED_BOOK' | 'LOCKED_BOOK' | 'STALE_TIMESTAMP' | 'FUTURE_TIMESTAMP'; ts?: number; lost?: boolean } = {},
  ): void {
    const book = this.#books.get(market)!;
    const levelsOf = side === 'yes' ? book.yes : book.no;
    const size = (levelsOf.get(price) ?? 0) + delta;
    if (size <= 0) levelsOf.delete(price);
    else levelsOf.set(price, size);
    const top = this.top(market);
    const ts = new Date(expect.ts ?? Date.now()).toISOString(); // one venue event, stamped once
    for (const [c, subs] of this.#conns) {
      for (const sub of subs.values()) {
        if (sub.channel === 'ticker' && sub.markets.has(market) && top !== undefined && !expect.lost) {
          if (
            c.send(
              JSON.stringify({
                type: 'ticker',
                sid: sub.sid,
                msg: {
                  market_ticker: market,
                  yes_bid: Math.round(top.bid * 100),
                  yes_ask: Math.round(top.ask * 100),
                  price: 50,
                  ts: Math.floor(Date.now() / 1000),
                },
              }),
            )
          ) {
            this.record.good(c.id, market, { bid: top.bid, ask: top.ask });
          }
        }
        if (sub.channel !== 'orderbook_delta' || !sub.markets.has(market) || !c.live) continue;
        sub.seq++;
        if (expect.lost) {
          sub.gapPending = true;
          continue;
        }
        const frame = { type: 'orderbook_delta', sid: sub.sid, seq: sub.seq, msg: { market_ticker: market, price, delta, side, ts } };
        if (!c.send(JSON.stringify(frame))) continue;
        this.#recordFrame(c, sub, market, expect.bad, top);
      }
    }
  }

  #recordFrame(
    c: SimConnection,
    sub: Sub,
    market: string,
    bad: 'CROSSED_BOOK' | 'LOCKED_BOOK' | 'STALE_TIMESTAMP' | 'FUTURE_TIMESTAMP' | 'UNKNOWN_INSTRUMENT' | undefined,
    top: Top | undefined,
  ): void {
    if (sub.gapPending) {
      // This frame reveals the gap: refused, and the subscription is replaced.
      sub.gapPending = false;
      sub.lost = true;
      this.record.bad(c.id, market, 'SEQUENCE_GAP');
    } else if (sub.lost) this.record.bad(c.id, market, 'AWAITING_SNAPSHOT');
    else if (bad === 'UNKNOWN_INSTRUMENT') this.record.bad(c.id, '', bad);
    else if (bad !== undefined) this.record.bad(c.id, market, bad, top);
    else this.record.good(c.id, market, top);
  }

  step(market: string): void {
    const book = this.#books.get(market)!;
    const [yb] = best(book.yes)!;
    const [nb] = best(book.no)!;
    const r = this.#random();
    const qty = 10 + Math.floor(this.#random() * 200);
    const spread = 100 - nb - yb; // YES ask − YES bid, in cents
    if (r < 0.35) this.#delta(market, 'yes', yb, qty - book.yes.get(yb)!);
    else if (r < 0.7) this.#delta(market, 'no', nb, qty - book.no.get(nb)!);
    else if (r < 0.8 && spread > 1) this.#delta(market, 'yes', yb + 1, qty);
    else if (r < 0.9 && spread > 1) this.#delta(market, 'no', nb + 1, qty);
    else if (book.yes.size > 2) this.#delta(market, 'yes', yb, -book.yes.get(yb)!);
    else this.#delta(market, 'no', nb, qty);
  }

  inject(market: string, kind: BadKind): void {
    const book = this.#books.get(market)!;
    const [yb] = best(book.yes)!;
    const [nb] = best(book.no)!;
    switch (kind) {
      case 'malformed':
        for (const [c] of this.#conns)
          if (this.#hasBook(c, market) && c.send('{"type":"orderbook_delta",')) this.record.bad(c.id, market, 'MALFORMED_MESSAGE');
        return;
      case 'out-of-range':
        // Refused by the format (price outside 1..99 cents); the venue does not count it in the sequence here.
        for (const [c, subs] of this.#conns) {
          for (const sub of subs.values()) {
            if (sub.channel !== 'orderbook_delta' || !sub.markets.has(market) || sub.lost || sub.gapPending) continue;
            if (
              c.send(
                JSON.stringify({
                  type: 'orderbook_delta',
                  sid: sub.sid,
                  seq: sub.seq + 1,
                  msg: { market_ticker: market, price: 150, delta: 5, side: 'yes' },
                }),
              )
            ) {
              this.record.bad(c.id, market, 'PRICE_OUT_OF_RANGE');
            }
          }
        }
        return;
      case 'crossed':
      case 'locked': {
        const price = kind === 'crossed' ? 100 - nb + 1 : 100 - nb; // a YES bid above (at) the YES ask
        this.#delta(market, 'yes', price, 9, { bad: kind === 'crossed' ? 'CROSSED_BOOK' : 'LOCKED_BOOK' });
        this.#delta(market, 'yes', price, -9);
        return;
      }
      case 'stale':
      case 'future':
        this.#delta(market, 'yes', yb, 1 + Math.floor(this.#random() * 20), {
          bad: kind === 'stale' ? 'STALE_TIMESTAMP' : 'FUTURE_TIMESTAMP',
          ts: Date.now() + (kind === 'stale' ? -60_000 : 60_000),
        });
        return;
      case 'gap':
        this.#delta(market, 'yes', yb, 1 + Math.floor(this.#random() * 20), { lost: true });
        return;
      case 'unknown-instrument':
        for (const [c, subs] of this.#conns) {
          for (const sub of subs.values()) {
            if (sub.channel !== 'orderbook_delta' || !sub.markets.has(market) || !c.live) continue;
            sub.seq++;
            if (
              c.send(
                JSON.stringify({
                  type: 'orderbook_delta',
                  sid: sub.sid,
                  seq: sub.seq,
                  msg: { market_ticker: 'KXNOTLISTED', price: 40, delta: 5, side: 'yes' },
                }),
              )
            ) {
              this.#recordFrame(c, sub, market, 'UNKNOWN_INSTRUMENT', undefined);
            }
          }
        }
        return;
      default:
        throw new Error(`kalshi cannot carry ${kind}`);
    }
  }

  /** Whether a connection has an orderbook subscription of the market in sync. */
  #hasBook(c: SimConnection, market: string): boolean {
    return [...(this.#conns.get(c)?.values() ?? [])].some((s) => s.channel === 'orderbook_delta' && s.markets.has(market));
  }

  /** Announce a market's determination on every lifecycle subscription. */
  resolve(market: string, result: 'yes' | 'no'): void {
    for (const [c, subs] of this.#conns) {
      for (const sub of subs.values()) {
        if (sub.channel !== 'market_lifecycle_v2') continue;
        c.send(
          JSON.stringify({
            type: 'market_lifecycle_v2',
            sid: sub.sid,
            msg: { market_ticker: market, event_type: 'determined', result, determination_ts: Math.floor(Date.now() / 1000) },
          }),
        );
      }
    }
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

function best(levels: ReadonlyMap<number, number>): [number, number] | undefined {
  let top: [number, number] | undefined;
  for (const [p, q] of levels) if (top === undefined || p > top[0]) top = [p, q];
  return top;
}

function levels(m: ReadonlyMap<number, number>): Array<[number, number]> {
  return [...m].sort((a, b) => a[0] - b[0]);
}
