/**
 * Coinbase Advanced Trade market data: `{type: "subscribe" | "unsubscribe",
 * channel, product_ids}`; `subscriptions` acks; `heartbeats` every
 * `heartbeatMs`; `level2` as `l2_data` frames (a `snapshot` event on
 * subscribe, then `update` events); `ticker` frames after each book change;
 * `sequence_num` per connection over every frame. A gap is a frame lost on
 * its way (the book changed, the connection's sequence skipped): until the
 * connection resubscribes, its level2 frames are what a connector must drop.
 * Test code only.
 */
import { SimBook, SimRecord, type BadKind, type Top } from './sim-record.js';
import { SimulatorServer, type SimConnection } from './simulator-server.js';
import { seeded, type VenueSim, type VenueSimOptions } from './venue-sim.js';

/** Options of {@link CoinbaseSim.start}. */
export interface CoinbaseSimOptions extends VenueSimOptions {
  /** Product → opening mid. */
  readonly products: Readonly<Record<string, number>>;
}

interface ConnState {
  seq: number;
  heartbeats: boolean;
  readonly level2: Set<string>;
  readonly ticker: Set<string>;
  /** Level2 products whose book this connection lost (until their next snapshot). */
  readonly awaiting: Set<string>;
  /** A frame was lost: the next frame reveals the gap. */
  gapPending: boolean;
}

interface Update {
  readonly side: 'bid' | 'offer';
  readonly price: number;
  readonly size: number;
  readonly time?: number;
}

const TICK = 0.01;
const px = (n: number): number => Number(n.toFixed(2));

/** See the module comment. */
export class CoinbaseSim implements VenueSim {
  readonly venue = 'coinbase' as const;
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
  readonly #books = new Map<string, SimBook>();
  readonly #conns = new Map<SimConnection, ConnState>();
  readonly #random: () => number;
  readonly #timer: ReturnType<typeof setInterval>;
  #heartbeat = 0;

  private constructor(server: SimulatorServer, options: CoinbaseSimOptions, random: () => number) {
    this.server = server;
    this.#random = random;
    for (const [p, mid] of Object.entries(options.products)) {
      const book = new SimBook();
      for (let k = 0; k < 3; k++) {
        book.set('bid', px(mid - TICK * (k + 1)), 1 + k);
        book.set('ask', px(mid + TICK * (k + 1)), 1 + k);
      }
      this.#books.set(p, book);
    }
    this.#timer = setInterval(() => this.#heartbeats(), options.heartbeatMs ?? 50);
  }

  static async start(options: CoinbaseSimOptions): Promise<CoinbaseSim> {
    let sim: CoinbaseSim | undefined;
    const server = await SimulatorServer.start(
      {
        ...(options.port === undefined ? {} : { port: options.port }),
        ...(options.inboundLimitPerSecond === undefined ? {} : { inboundLimitPerSecond: options.inboundLimitPerSecond }),
        ...(options.maxConnectionAgeMs === undefined ? {} : { maxConnectionAgeMs: options.maxConnectionAgeMs }),
      },
      (c) => sim!.#connect(c),
    );
    sim = new CoinbaseSim(server, options, seeded(options.seed ?? 'coinbase'));
    return sim;
  }

  get url(): string {
    return this.server.url;
  }

  instruments(): string[] {
    return [...this.#books.keys()];
  }

  subscribed(product: string): boolean {
    return [...this.#conns].some(([c, s]) => c.live && ((s.level2.has(product) && !s.awaiting.has(product)) || s.ticker.has(product)));
  }

  #connect(c: SimConnection): void {
    const state: ConnState = { seq: 0, heartbeats: false, level2: new Set(), ticker: new Set(), awaiting: new Set(), gapPending: false };
    this.#conns.set(c, state);
    void c.closed.then(() => this.#conns.delete(c));
    c.onMessage = (text) => {
      const m = JSON.parse(text) as { type?: string; channel?: string; product_ids?: string[] };
      const ids = (m.product_ids ?? []).filter((p) => this.#books.has(p));
      if (m.channel === 'heartbeats') state.heartbeats = m.type === 'subscribe';
      const set = m.channel === 'level2' ? state.level2 : m.channel === 'ticker' ? state.ticker : undefined;
      if (set !== undefined) for (const p of ids) m.type === 'subscribe' ? set.add(p) : set.delete(p);
      this.#frame(c, state, { channel: 'subscriptions', events: [{ subscriptions: { [m.channel ?? '']: [...(set ?? [])] } }] });
      if (m.type !== 'subscribe') return;
      for (const p of ids) {
        const book = this.#books.get(p)!;
        if (m.channel === 'level2') {
          const updates = [
            ...[...book.bids].map(([price, size]) => ({ side: 'bid' as const, price, size })),
            ...[...book.asks].map(([price, size]) => ({ side: 'offer' as const, price, size })),
          ];
          if (this.#frame(c, state, l2('snapshot', p, updates))) {
            state.awaiting.delete(p);
            this.record.good(c.id, p, book.top());
          }
        } else if (m.channel === 'ticker' && this.#frame(c, state, ticker('snapshot', p, book))) {
          this.record.good(c.id, p, tickerTop(book));
        }
      }
    };
  }

  /** Send one frame with the connection's next sequence_num; false if not sent. */
  #frame(c: SimConnection, state: ConnState, body: Record<string, unknown>): boolean {
    if (!c.live) return false;
    if (state.gapPending) {
      state.gapPending = false;
      this.record.bad(c.id, '', 'SEQUENCE_GAP');
    }
    state.seq++;
    return c.send(JSON.stringify({ ...body, client_id: '', timestamp: new Date().toISOString(), sequence_num: state.seq }));
  }

  #heartbeats(): void {
    this.#heartbeat++;
    for (const [c, state] of this.#conns) {
      if (state.heartbeats)
        this.#frame(c, state, {
          channel: 'heartbeats',
          events: [{ current_time: new Date().toISOString(), heartbeat_counter: this.#heartbeat }],
        });
    }
  }

  /** Apply updates to the book, send them to every subscribed connection, and record each send. */
  #publish(
    product: string,
    updates: readonly Update[],
    bad?: { reason: 'CROSSED_BOOK' | 'LOCKED_BOOK' | 'STALE_TIMESTAMP' | 'FUTURE_TIMESTAMP' },
  ): void {
    const book = this.#books.get(product)!;
    for (const u of updates) book.set(u.side === 'bid' ? 'bid' : 'ask', u.price, u.size);
    const top = book.top();
    // One venue event, stamped once: every connection sees the same event_time.
    const frame = l2('update', product, updates);
    const tick = ticker('update', product, book);
    for (const [c, state] of this.#conns) {
      if (state.level2.has(product) && this.#frame(c, state, frame)) {
        if (state.awaiting.has(product)) this.record.bad(c.id, product, 'AWAITING_SNAPSHOT');
        else if (bad !== undefined) this.record.bad(c.id, product, bad.reason, top);
        else this.record.good(c.id, product, top);
      }
      if (state.ticker.has(product) && this.#frame(c, state, tick)) this.record.good(c.id, product, tickerTop(book));
    }
  }

  /** Move a product's whole book by `factor` in one frame (a real market move). */
  move(product: string, factor: number): void {
    const book = this.#books.get(product)!;
    const updates: Update[] = [
      ...[...book.bids].map(([price]) => ({ side: 'bid' as const, price, size: 0 })),
      ...[...book.asks].map(([price]) => ({ side: 'offer' as const, price, size: 0 })),
      ...[...book.bids].map(([price, size]) => ({ side: 'bid' as const, price: px(price * factor), size })),
      ...[...book.asks].map(([price, size]) => ({ side: 'offer' as const, price: px(price * factor), size })),
    ];
    this.#publish(product, updates);
  }

  step(product: string): void {
    const book = this.#books.get(product)!;
    const [bb, bbs] = book.bestBid()!;
    const [ba, bas] = book.bestAsk()!;
    const r = this.#random();
    const size = Number((0.5 + this.#random() * 4).toFixed(3));
    let updates: Update[];
    if (r < 0.3) updates = [{ side: 'bid', price: bb, size }];
    else if (r < 0.6) updates = [{ side: 'offer', price: ba, size }];
    else if (r < 0.7 && ba - bb > TICK * 1.5) updates = [{ side: 'bid', price: px(bb + TICK), size }];
    else if (r < 0.8 && ba - bb > TICK * 1.5) updates = [{ side: 'offer', price: px(ba - TICK), size }];
    else if (r < 0.9 && book.bids.size > 2) updates = [{ side: 'bid', price: bb, size: 0 }];
    else if (book.asks.size > 2) updates = [{ side: 'offer', price: ba, size: 0 }];
    else updates = [{ side: 'bid', price: bb, size: bbs + bas }];
    this.#publish(product, updates);
  }

  inject(product: string, kind: BadKind): void {
    const book = this.#books.get(product)!;
    const [bb] = book.bestBid()!;
    const [ba] = book.bestAsk()!;
    switch (kind) {
      case 'malformed':
      case 'out-of-range':
      case 'unknown-instrument': {
        const frame =
          kind === 'unknown-instrument'
            ? l2('update', 'NOT-LISTED', [{ side: 'bid', price: bb, size: 1 }])
            : {
                channel: 'l2_data',
                events: [
                  {
                    type: 'update',
                    product_id: product,
                    updates: [
                      {
                        side: 'bid',
                        event_time: new Date().toISOString(),
                        price_level: kind === 'malformed' ? 'abc' : '0',
                        new_quantity: '1',
                      },
                    ],
                  },
                ],
              };
        for (const [c, state] of this.#conns) {
          // Refused whole by its format, before any book is looked at (awaiting a snapshot or not).
          if (!state.level2.has(product) || !this.#frame(c, state, frame)) continue;
          this.record.bad(
            c.id,
            kind === 'unknown-instrument' ? '' : product,
            kind === 'malformed' ? 'MALFORMED_MESSAGE' : kind === 'out-of-range' ? 'PRICE_OUT_OF_RANGE' : 'UNKNOWN_INSTRUMENT',
          );
        }
        return;
      }
      case 'crossed':
      case 'locked': {
        const price = kind === 'crossed' ? px(ba + TICK) : ba;
        const was = book.bids.get(price);
        this.#publish(product, [{ side: 'bid', price, size: 1 }], { reason: kind === 'crossed' ? 'CROSSED_BOOK' : 'LOCKED_BOOK' });
        this.#publish(product, [{ side: 'bid', price, size: was ?? 0 }]); // repaired at once
        return;
      }
      case 'stale':
      case 'future': {
        const time = Date.now() + (kind === 'stale' ? -60_000 : 60_000);
        this.#publish(product, [{ side: 'bid', price: bb, size: Number((1 + this.#random()).toFixed(3)), time }], {
          reason: kind === 'stale' ? 'STALE_TIMESTAMP' : 'FUTURE_TIMESTAMP',
        });
        return;
      }
      case 'gap': {
        // A frame lost on the way: the book moves, each connection's sequence skips one.
        book.set('bid', bb, Number((1 + this.#random()).toFixed(3)));
        for (const [c, state] of this.#conns) {
          if (!c.live) continue;
          state.seq++;
          state.gapPending = true;
          for (const p of state.level2) state.awaiting.add(p);
        }
        return;
      }
      default:
        throw new Error(`coinbase cannot carry ${kind}`);
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.server.stop();
  }
}

function l2(type: 'snapshot' | 'update', product: string, updates: readonly Update[]): Record<string, unknown> {
  const now = Date.now();
  return {
    channel: 'l2_data',
    events: [
      {
        type,
        product_id: product,
        updates: updates.map((u) => ({
          side: u.side,
          event_time: new Date(u.time ?? now).toISOString(),
          price_level: u.price.toFixed(2),
          new_quantity: String(u.size),
        })),
      },
    ],
  };
}

function ticker(type: 'snapshot' | 'update', product: string, book: SimBook): Record<string, unknown> {
  const [b, bs] = book.bestBid()!;
  const [a, as] = book.bestAsk()!;
  return {
    channel: 'ticker',
    events: [
      {
        type,
        tickers: [
          {
            type: 'ticker',
            product_id: product,
            price: b.toFixed(2),
            best_bid: b.toFixed(2),
            best_bid_quantity: String(bs),
            best_ask: a.toFixed(2),
            best_ask_quantity: String(as),
          },
        ],
      },
    ],
  };
}

function tickerTop(book: SimBook): Top {
  return book.top()!;
}
