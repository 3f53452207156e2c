/**
 * The engine's embedded default market-data source: a deterministic synthetic
 * feed of top-of-book ticks and prediction-market resolutions. The output is a
 * pure function of the options, so a seed reproduces a session exactly.
 */
import { DEFAULT_INSTRUMENTS, type Instrument, type Resolution, type Tick } from '../../actors/index.js';
import { BoundedWalk, JumpDiffusion, Random } from '../../sim/index.js';

/** One item of the feed; ticks and resolutions share one sequence. */
export type FeedItem = { type: 'tick'; tick: Tick } | { type: 'resolution'; resolution: Resolution };

/** Per-symbol settings of a linear instrument. */
export interface LinearOverride {
  /** Starting mid price. @default 60000 BTC-USD, 3000 ETH-USD, 150 SOL-USD, else 100 */
  readonly price?: number;
  /** Annual volatility (0.6 = 60%). @default 0.6 BTC-USD, 0.75 ETH-USD, 0.95 SOL-USD, else 0.8 */
  readonly vol?: number;
}

/** Per-market settings of a binary market (keyed by `Instrument.market`). */
export interface MarketOverride {
  /** Starting probability of YES, in (0, 1). @default 0.5 */
  readonly probability?: number;
  /** Logit-scale volatility per sqrt(day), see {@link BoundedWalk}. @default 0.8 */
  readonly sigma?: number;
  /** Feed time from `startTime` until the market resolves. @default the instruments' `closesAt` if set, else the feed's `resolveAfterMs` */
  readonly resolveAfterMs?: number;
}

/** Options of {@link SyntheticFeed}. */
export interface SyntheticFeedOptions {
  /** Seed of every random draw. @default none (required) */
  readonly seed: string;
  /** Instruments to quote. Binary ones are grouped into markets by `market`. @default DEFAULT_INSTRUMENTS */
  readonly instruments?: readonly Instrument[];
  /** Feed time of the first items, whole ms since epoch. @default 1735689600000 (2025-01-01T00:00:00Z) */
  readonly startTime?: number;
  /** `seq` of the first item. @default 1 */
  readonly startSeq?: number;
  /** Mean time between two ticks of one symbol (or one binary market), ms. @default 100 */
  readonly meanIntervalMs?: number;
  /** Time from `startTime` until binary markets resolve, ms. @default 21600000 (6 hours) */
  readonly resolveAfterMs?: number;
  /** Overrides for linear instruments, by symbol. @default {} */
  readonly symbols?: Readonly<Record<string, LinearOverride>>;
  /** Overrides for binary markets, by market id. @default {} */
  readonly markets?: Readonly<Record<string, MarketOverride>>;
}

const LINEAR_DEFAULTS: ReadonlyMap<string, { price: number; vol: number }> = new Map([
  ['BTC-USD', { price: 60_000, vol: 0.6 }],
  ['ETH-USD', { price: 3_000, vol: 0.75 }],
  ['SOL-USD', { price: 150, vol: 0.95 }],
]);
const UNKNOWN_LINEAR = { price: 100, vol: 0.8 };
/** Median notional shown at each side of the book, in quote currency. */
const LINEAR_NOTIONAL = 50_000;
const BINARY_NOTIONAL = 2_000;

interface LinearStream {
  readonly kind: 'linear';
  readonly instrument: Instrument;
  readonly random: Random;
  readonly model: JumpDiffusion;
  price: number;
  time: number;
}

interface MarketStream {
  readonly kind: 'market';
  readonly market: string;
  readonly yes: Instrument | undefined;
  readonly no: Instrument | undefined;
  readonly yesOutcome: string;
  readonly noOutcome: string;
  readonly random: Random;
  readonly walk: BoundedWalk;
  readonly resolveAt: number;
  p: number;
  time: number;
}

type Stream = LinearStream | MarketStream;

/** A scheduled event; `rank` breaks time ties deterministically (instrument order). */
interface FeedEvent {
  readonly at: number;
  readonly rank: number;
  readonly stream: Stream;
  readonly resolve: boolean;
}

const before = (a: FeedEvent, b: FeedEvent): boolean => a.at < b.at || (a.at === b.at && a.rank < b.rank);

/** Binary min-heap of events; a handful of streams, so nothing fancier is needed. */
class EventQueue {
  readonly #h: FeedEvent[] = [];

  get size(): number {
    return this.#h.length;
  }

  push(event: FeedEvent): void {
    const h = this.#h;
    let i = h.push(event) - 1;
    for (let up = (i - 1) >> 1; i > 0 && before(event, h[up]!); i = up, up = (i - 1) >> 1) h[i] = h[up]!;
    h[i] = event;
  }

  pop(): FeedEvent | undefined {
    const h = this.#h;
    const top = h[0];
    const last = h.pop();
    if (h.length === 0 || last === undefined) return top;
    let i = 0;
    for (let c = 1; c < h.length; i = c, c = 2 * i + 1) {
      if (c + 1 < h.length && before(h[c + 1]!, h[c]!)) c++;
      if (!before(h[c]!, last)) break;
      h[i] = h[c]!;
    }
    h[i] = last;
    return top;
  }
}

function own<T>(record: Readonly<Record<string, T>> | undefined, key: string): T | undefined {
  return record !== undefined && Object.hasOwn(record, key) ? record[key] : undefined;
}

function positive(name: string, value: number, allowZero = false): number {
  if (Number.isFinite(value) && (value > 0 || (allowZero && value === 0))) return value;
  throw new RangeError(`SyntheticFeed: ${name} must be a finite number ${allowZero ? '>=' : '>'} 0, got ${value}`);
}

/** A positive displayed size: log-normal notional, in whole multiples of `minQty`. */
function drawSize(random: Random, medianNotional: number, price: number, minQty: number): number {
  const step = minQty > 0 ? minQty : 1e-8;
  const qty = (medianNotional * Math.exp(0.75 * random.normal())) / price;
  // toPrecision strips float noise such as 0.30000000000000004.
  return Number((Math.max(1, Math.round(qty / step)) * step).toPrecision(12));
}

/** Deterministic synthetic market data: see {@link SyntheticFeedOptions}. */
export class SyntheticFeed {
  readonly #meanIntervalMs: number;
  readonly #queue = new EventQueue();
  readonly #pending: FeedItem[] = [];
  #seq: number;
  #now: number;

  constructor(options: SyntheticFeedOptions) {
    const { seed } = options;
    const instruments = options.instruments ?? DEFAULT_INSTRUMENTS;
    const startTime = options.startTime ?? Date.UTC(2025, 0, 1);
    if (!Number.isSafeInteger(startTime)) throw new RangeError(`SyntheticFeed: startTime must be an integer, got ${startTime}`);
    const startSeq = options.startSeq ?? 1;
    if (!Number.isSafeInteger(startSeq)) throw new RangeError(`SyntheticFeed: startSeq must be an integer, got ${startSeq}`);
    this.#meanIntervalMs = positive('meanIntervalMs', options.meanIntervalMs ?? 100);
    const resolveAfterMs = positive('resolveAfterMs', options.resolveAfterMs ?? 6 * 3600 * 1000, true);
    this.#seq = startSeq;
    this.#now = startTime;

    // Each stream gets its own generator, so adding an instrument leaves the others' paths unchanged.
    const randomFor = (key: string): Random => new Random(JSON.stringify([seed, key]));
    const seen = new Set<string>();
    const markets = new Map<string, { rank: number; outcomes: Instrument[] }>();
    instruments.forEach((instrument, index) => {
      if (seen.has(instrument.symbol)) throw new Error(`SyntheticFeed: duplicate symbol ${instrument.symbol}`);
      seen.add(instrument.symbol);
      if (instrument.kind === 'linear') {
        const base = LINEAR_DEFAULTS.get(instrument.symbol) ?? UNKNOWN_LINEAR;
        const o = own(options.symbols, instrument.symbol);
        const stream: LinearStream = {
          kind: 'linear',
          instrument,
          random: randomFor(instrument.symbol),
          model: new JumpDiffusion({ sigma: positive('vol', o?.vol ?? base.vol, true) }),
          price: positive('price', o?.price ?? base.price),
          time: startTime,
        };
        this.#queue.push({ at: startTime, rank: 2 * index, stream, resolve: false });
        return;
      }
      if (instrument.market === undefined || instrument.outcome === undefined) {
        throw new Error(`SyntheticFeed: binary instrument ${instrument.symbol} needs market and outcome`);
      }
      const group = markets.get(instrument.market) ?? { rank: 2 * index, outcomes: [] };
      group.outcomes.push(instrument);
      markets.set(instrument.market, group);
    });

    for (const [market, { rank, outcomes }] of markets) {
      const stream = this.#marketStream(market, outcomes, randomFor(market), startTime, resolveAfterMs, own(options.markets, market));
      // A market whose resolution is due at the start shows no quotes at all.
      if (stream.resolveAt > startTime) this.#queue.push({ at: startTime, rank, stream, resolve: false });
      this.#queue.push({ at: stream.resolveAt, rank: rank + 1, stream, resolve: true });
    }
  }

  #marketStream(
    market: string,
    outcomes: readonly Instrument[],
    random: Random,
    startTime: number,
    resolveAfterMs: number,
    o: MarketOverride | undefined,
  ): MarketStream {
    if (outcomes.length > 2) throw new Error(`SyntheticFeed: market ${market} has more than two outcomes`);
    const [first, second] = outcomes as [Instrument, Instrument | undefined];
    // YES carries the walked probability; a lone NO keeps the NO role, any other pair is (first, second).
    const swap = second?.outcome === 'YES' || (second === undefined && first.outcome === 'NO');
    const yes = swap ? second : first;
    const no = swap ? first : second;
    const closesAt = Math.min(...outcomes.map((i) => i.closesAt ?? Infinity));
    const afterMs = o?.resolveAfterMs ?? (Number.isFinite(closesAt) ? Math.max(0, closesAt - startTime) : resolveAfterMs);
    const walk = new BoundedWalk({ sigma: positive('sigma', o?.sigma ?? 0.8, true) });
    const p = o?.probability ?? 0.5;
    if (!(p > 0 && p < 1)) throw new RangeError(`SyntheticFeed: probability of ${market} must be in (0, 1), got ${p}`);
    return {
      kind: 'market',
      market,
      yes,
      no,
      yesOutcome: yes?.outcome ?? 'YES',
      noOutcome: no?.outcome ?? 'NO',
      random,
      walk,
      resolveAt: startTime + positive('resolveAfterMs', afterMs, true),
      p: walk.clamp(p),
      time: startTime,
    };
  }

  /** Feed time of the last item returned (the start time before any), ms since epoch. */
  get now(): number {
    return this.#now;
  }

  /** True once every market has resolved and there are no linear instruments left to quote. */
  get done(): boolean {
    return this.#pending.length === 0 && this.#queue.size === 0;
  }

  /** The next item, in non-decreasing time and `seq` + 1 order. Throws when {@link done}. */
  next(): FeedItem {
    while (this.#pending.length === 0) {
      const event = this.#queue.pop();
      if (event === undefined) throw new Error('SyntheticFeed: exhausted (every market resolved, no linear instruments)');
      this.#handle(event);
    }
    const item = this.#pending.shift()!;
    this.#now = item.type === 'tick' ? item.tick.ts : item.resolution.ts;
    return item;
  }

  /** The next `n` items (fewer only if the feed is exhausted). */
  take(n: number): FeedItem[] {
    const items: FeedItem[] = [];
    while (items.length < n && !this.done) items.push(this.next());
    return items;
  }

  #handle(event: FeedEvent): void {
    const { stream, at } = event;
    const ts = Math.floor(at);
    if (stream.kind === 'linear') {
      stream.price = stream.model.step(stream.price, at - stream.time, stream.random);
      stream.time = at;
      this.#quoteLinear(stream, ts);
    } else {
      stream.p = stream.walk.step(stream.p, at - stream.time, stream.random);
      stream.time = at;
      if (event.resolve) {
        // The winner is drawn from the probability at the resolution instant.
        const outcome = stream.random.uniform() < stream.p ? stream.yesOutcome : stream.noOutcome;
        this.#pending.push({ type: 'resolution', resolution: { seq: this.#seq++, ts, market: stream.market, outcome } });
        return;
      }
      this.#quoteMarket(stream, ts);
    }
    const nextAt = at + stream.random.exponential(this.#meanIntervalMs);
    // Markets stop quoting at their resolution time.
    if (stream.kind === 'linear' || nextAt < stream.resolveAt) this.#queue.push({ ...event, at: nextAt });
  }

  #tick(symbol: string, ts: number, bid: number, ask: number, bidSize: number, askSize: number): void {
    this.#pending.push({ type: 'tick', tick: { seq: this.#seq++, ts, symbol, bid, ask, bidSize, askSize } });
  }

  #quoteLinear(s: LinearStream, ts: number): void {
    const half = (s.price * (1 + s.random.uniform()) * 1e-4) / 2; // spread of 1–2 bps
    // Integer cents avoid float drift; at least one cent wide and one cent above zero.
    const bidCents = Math.max(1, Math.round((s.price - half) * 100));
    const askCents = Math.max(bidCents + 1, Math.round((s.price + half) * 100));
    const { minQty, symbol } = s.instrument;
    const bidSize = drawSize(s.random, LINEAR_NOTIONAL, s.price, minQty);
    const askSize = drawSize(s.random, LINEAR_NOTIONAL, s.price, minQty);
    this.#tick(symbol, ts, bidCents / 100, askCents / 100, bidSize, askSize);
  }

  #quoteMarket(s: MarketStream, ts: number): void {
    // Work in thousandths: spread 10–20, and the book kept inside [1, 999].
    const spread = 10 + s.random.int(11);
    const bid = Math.min(Math.max(Math.round(s.p * 1000 - spread / 2), 1), 999 - spread);
    const ask = bid + spread;
    const minQty = (s.yes ?? s.no)?.minQty ?? 1;
    const bidSize = drawSize(s.random, BINARY_NOTIONAL, s.p, minQty);
    const askSize = drawSize(s.random, BINARY_NOTIONAL, s.p, minQty);
    if (s.yes) this.#tick(s.yes.symbol, ts, bid / 1000, ask / 1000, bidSize, askSize);
    // NO is the mirror book of YES: buying NO at its ask is selling YES at its bid.
    if (s.no) this.#tick(s.no.symbol, ts, (1000 - ask) / 1000, (1000 - bid) / 1000, askSize, bidSize);
  }
}
