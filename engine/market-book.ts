/**
 * The shard's view of the market: instruments, the latest quote per symbol,
 * and resolved markets. Every shard applies every tick, so all shards agree.
 */
import type { Instrument, MarketView, Quote, Tick } from '../actors/index.js';

/** Plain-data form of a {@link MarketBook}, for snapshots. */
export interface MarketBookSnapshot {
  readonly instruments: Instrument[];
  readonly quotes: Array<[string, Quote]>;
  readonly resolutions: Array<[string, string]>;
}

export class MarketBook implements MarketView {
  readonly #instruments = new Map<string, Instrument>();
  readonly #quotes = new Map<string, Quote>();
  readonly #resolutions = new Map<string, string>();

  constructor(instruments: Iterable<Instrument> = []) {
    for (const inst of instruments) this.addInstrument(inst);
  }

  addInstrument(inst: Instrument): void {
    this.#instruments.set(inst.symbol, inst);
  }

  instrument(symbol: string): Instrument | undefined {
    return this.#instruments.get(symbol);
  }

  quote(symbol: string): Quote | undefined {
    return this.#quotes.get(symbol);
  }

  resolution(market: string): string | undefined {
    return this.#resolutions.get(market);
  }

  /** Update a symbol's quote in place: readers use a quote within one input, never across inputs. */
  apply(tick: Tick): void {
    this.applyQuote(tick.symbol, tick.seq, tick.ts, tick.bid, tick.ask, tick.bidSize, tick.askSize);
  }

  /** {@link apply} field by field, allocation-free once the symbol has a quote. */
  applyQuote(
    symbol: string,
    seq: number,
    ts: number,
    bid: number,
    ask: number,
    bidSize: number | undefined,
    askSize: number | undefined,
  ): void {
    const q = this.#quotes.get(symbol) as { -readonly [K in keyof Quote]: Quote[K] } | undefined;
    if (q === undefined) {
      this.#quotes.set(symbol, { seq, ts, bid, ask, bidSize, askSize });
      return;
    }
    q.seq = seq;
    q.ts = ts;
    q.bid = bid;
    q.ask = ask;
    q.bidSize = bidSize;
    q.askSize = askSize;
  }

  resolve(market: string, outcome: string): void {
    this.#resolutions.set(market, outcome);
  }

  get symbols(): IterableIterator<string> {
    return this.#instruments.keys();
  }

  snapshot(): MarketBookSnapshot {
    return {
      instruments: [...this.#instruments.values()],
      quotes: [...this.#quotes].map(([k, q]) => [k, { ...q }]),
      resolutions: [...this.#resolutions],
    };
  }

  /** Replace this book's contents with a snapshot's. */
  restoreFrom(s: MarketBookSnapshot): void {
    this.#instruments.clear();
    this.#quotes.clear();
    this.#resolutions.clear();
    for (const inst of s.instruments) this.addInstrument(inst);
    for (const [k, q] of s.quotes) this.#quotes.set(k, q);
    for (const [k, v] of s.resolutions) this.#resolutions.set(k, v);
  }
}
