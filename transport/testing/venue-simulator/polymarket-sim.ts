/**
 * Polymarket CLOB market channel: the first message `{assets_ids, type:
 * "market"}` subscribes (a `book` per asset answers), later ones carry
 * `operation: "subscribe" | "unsubscribe"`; `PING` is answered `PONG`;
 * updates are `price_change` events (the current format with
 * `price_changes[]`), snapshots `book` events, and `market_resolved`
 * announces a winner. Prices are decimal strings in (0, 1). Test code only.
 */
import { SimBook, SimRecord, type BadKind } from './sim-record.js';
import { SimulatorServer, type SimConnection } from './simulator-server.js';
import { seeded, type VenueSim, type VenueSimOptions } from './venue-sim.js';

/** Options of {@link PolymarketSim.start}. */
export interface PolymarketSimOptions extends VenueSimOptions {
  /** Asset (token) id → its market's condition id and opening mid (0..1). */
  readonly assets: Readonly<Record<string, { readonly market: string; readonly mid: number }>>;
}

const TICK = 0.01;
const px = (n: number): number => Number(n.toFixed(2));
const str = (n: number): string => n.toFixed(2);

/** See the module comment. */
export class PolymarketSim implements VenueSim {
  readonly venue = 'polymarket' as const;
  readonly record = new SimRecord();
  readonly supports: ReadonlySet<BadKind> = new Set([
    'malformed',
    'out-of-range',
    'crossed',
    'locked',
    'stale',
    'future',
    'spike',
    'unknown-instrument',
  ]);
  readonly server: SimulatorServer;
  readonly #books = new Map<string, SimBook>();
  readonly #markets = new Map<string, string>();
  readonly #subs = new Map<SimConnection, Set<string>>();
  readonly #random: () => number;
  /** PINGs answered. */
  pongs = 0;

  private constructor(server: SimulatorServer, options: PolymarketSimOptions, random: () => number) {
    this.server = server;
    this.#random = random;
    for (const [id, { market, mid }] of Object.entries(options.assets)) {
      const book = new SimBook();
      for (let k = 0; k < 3; k++) {
        book.set('bid', px(mid - TICK * (k + 1)), 10 * (k + 1));
        book.set('ask', px(mid + TICK * (k + 1)), 10 * (k + 1));
      }
      this.#books.set(id, book);
      this.#markets.set(id, market);
    }
  }

  static async start(options: PolymarketSimOptions): Promise<PolymarketSim> {
    let sim: PolymarketSim | undefined;
    const server = await SimulatorServer.start(
      {
        path: '/ws/market',
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.inboundLimitPerSecond === undefined ? {} : { inboundLimitPerSecond: options.inboundLimitPerSecond }),
        ...(options.maxConnectionAgeMs === undefined ? {} : { maxConnectionAgeMs: options.maxConnectionAgeMs }),
      },
      (c) => sim!.#connect(c),
    );
    sim = new PolymarketSim(server, options, seeded(options.seed ?? 'polymarket'));
    return sim;
  }

  get url(): string {
    return this.server.url;
  }

  instruments(): string[] {
    return [...this.#books.keys()];
  }

  subscribed(asset: string): boolean {
    return [...this.#subs].some(([c, s]) => c.live && s.has(asset));
  }

  #connect(c: SimConnection): void {
    const subs = new Set<string>();
    this.#subs.set(c, subs);
    void c.closed.then(() => this.#subs.delete(c));
    c.onMessage = (text) => {
      if (text === 'PING') {
        if (c.send('PONG')) this.pongs++;
        return;
      }
      const m = JSON.parse(text) as { assets_ids?: string[]; type?: string; operation?: string };
      const ids = (m.assets_ids ?? []).filter((a) => this.#books.has(a));
      if (m.operation === 'unsubscribe') {
        for (const a of ids) subs.delete(a);
        return;
      }
      for (const a of ids) subs.add(a);
      const books = ids.map((a) => bookEvent(a, this.#markets.get(a)!, this.#books.get(a)!, Date.now()));
      if (books.length > 0 && c.send(JSON.stringify(books))) for (const a of ids) this.record.good(c.id, a, this.#books.get(a)!.top());
    };
  }

  #send(asset: string, event: unknown, onSent: (conn: number) => void): void {
    const text = JSON.stringify(event);
    for (const [c, subs] of this.#subs) if (subs.has(asset) && c.send(text)) onSent(c.id);
  }

  #change(asset: string, side: 'BUY' | 'SELL', price: number, size: number, ts = Date.now()): Record<string, unknown> {
    const book = this.#books.get(asset)!;
    book.set(side === 'BUY' ? 'bid' : 'ask', price, size);
    const top = book.top();
    return {
      event_type: 'price_change',
      market: this.#markets.get(asset),
      timestamp: String(ts),
      price_changes: [
        {
          asset_id: asset,
          price: str(price),
          size: String(size),
          side,
          hash: `0x${Math.floor(this.#random() * 1e12).toString(16)}`,
          best_bid: top === undefined ? '0' : str(top.bid),
          best_ask: top === undefined ? '1' : str(top.ask),
        },
      ],
    };
  }

  step(asset: string): void {
    const book = this.#books.get(asset)!;
    const [bb] = book.bestBid()!;
    const [ba] = book.bestAsk()!;
    const r = this.#random();
    const size = 5 + Math.floor(this.#random() * 100);
    let event: Record<string, unknown>;
    if (r < 0.35) event = this.#change(asset, 'BUY', bb, size);
    else if (r < 0.7) event = this.#change(asset, 'SELL', ba, size);
    else if (r < 0.8 && ba - bb > TICK * 1.5) event = this.#change(asset, 'BUY', px(bb + TICK), size);
    else if (r < 0.9 && ba - bb > TICK * 1.5) event = this.#change(asset, 'SELL', px(ba - TICK), size);
    else if (book.bids.size > 2) event = this.#change(asset, 'BUY', bb, 0);
    else event = this.#change(asset, 'SELL', ba, size + 1);
    const top = book.top();
    this.#send(asset, event, (c) => this.record.good(c, asset, top));
  }

  inject(asset: string, kind: BadKind): void {
    const book = this.#books.get(asset)!;
    const [bb] = book.bestBid()!;
    const [ba] = book.bestAsk()!;
    const market = this.#markets.get(asset)!;
    switch (kind) {
      case 'malformed':
      case 'out-of-range': {
        const event = {
          event_type: 'price_change',
          market,
          timestamp: String(Date.now()),
          price_changes: [{ asset_id: asset, price: kind === 'malformed' ? 'x.y' : '1.50', size: '10', side: 'BUY' }],
        };
        this.#send(asset, event, (c) => this.record.bad(c, asset, kind === 'malformed' ? 'MALFORMED_MESSAGE' : 'PRICE_OUT_OF_RANGE'));
        return;
      }
      case 'crossed':
      case 'locked': {
        const price = kind === 'crossed' ? px(ba + TICK) : ba;
        const event = this.#change(asset, 'BUY', price, 7);
        const top = book.top();
        this.#send(asset, event, (c) => this.record.bad(c, asset, kind === 'crossed' ? 'CROSSED_BOOK' : 'LOCKED_BOOK', top));
        const repair = this.#change(asset, 'BUY', price, 0);
        const after = book.top();
        this.#send(asset, repair, (c) => this.record.good(c, asset, after));
        return;
      }
      case 'stale':
      case 'future': {
        const event = this.#change(
          asset,
          'BUY',
          bb,
          3 + Math.floor(this.#random() * 50),
          Date.now() + (kind === 'stale' ? -60_000 : 60_000),
        );
        const top = book.top();
        this.#send(asset, event, (c) => this.record.bad(c, asset, kind === 'stale' ? 'STALE_TIMESTAMP' : 'FUTURE_TIMESTAMP', top));
        return;
      }
      case 'spike': {
        // A full book far from the last: held; the venue's next book puts it back.
        const shift = bb < 0.5 ? 0.35 : -0.35;
        const spike = new SimBook();
        for (const [p, s] of book.bids) spike.set('bid', px(p + shift), s);
        for (const [p, s] of book.asks) spike.set('ask', px(p + shift), s);
        const at = Date.now();
        this.#send(asset, [bookEvent(asset, market, spike, at)], (c) => this.record.bad(c, asset, 'PRICE_JUMP', spike.top()));
        this.#send(asset, [bookEvent(asset, market, book, at)], (c) => this.record.good(c, asset, book.top()));
        return;
      }
      case 'unknown-instrument':
        this.#send(asset, [bookEvent('999', market, book, Date.now())], (c) => this.record.bad(c, '', 'UNKNOWN_INSTRUMENT'));
        return;
      default:
        throw new Error(`polymarket cannot carry ${kind}`);
    }
  }

  /** Announce that `winner` won its market (`market_resolved`, custom features on). */
  resolve(winner: string): void {
    const market = this.#markets.get(winner)!;
    const assets = [...this.#markets].filter(([, m]) => m === market).map(([a]) => a);
    const event = {
      event_type: 'market_resolved',
      id: '1',
      market,
      assets_ids: assets,
      outcomes: ['Yes', 'No'],
      winning_asset_id: winner,
      winning_outcome: 'Yes',
      timestamp: String(Date.now()),
    };
    const text = JSON.stringify(event);
    for (const [c, subs] of this.#subs) if (assets.some((a) => subs.has(a))) c.send(text);
  }

  stop(): Promise<void> {
    return this.server.stop();
  }
}

function bookEvent(asset: string, market: string, book: SimBook, ts: number): Record<string, unknown> {
  return {
    event_type: 'book',
    asset_id: asset,
    market,
    timestamp: String(ts),
    hash: '0x0',
    bids: [...book.bids].sort((a, b) => a[0] - b[0]).map(([p, s]) => ({ price: str(p), size: String(s) })),
    asks: [...book.asks].sort((a, b) => b[0] - a[0]).map(([p, s]) => ({ price: str(p), size: String(s) })),
  };
}
