/**
 * A per-instrument local price-level book, kept from a venue's snapshots and
 * deltas so the normalizers can read the best bid and ask after each change.
 */

/** One price level. */
export interface BookLevel {
  readonly price: number;
  readonly size: number;
}

/** Which side of a book. */
export type BookSide = 'bid' | 'ask';

/**
 * Aggregated price levels of one instrument. Prices are keyed exactly as the
 * normalizer gives them (use integer ticks where the venue has them, e.g.
 * Kalshi cents, to avoid float keys drifting).
 */
export class LocalBook {
  readonly #bids = new Map<number, number>();
  readonly #asks = new Map<number, number>();
  readonly #maxLevels: number;

  /**
   * @param options.maxLevels levels kept per side: past it, a new level
   *   farther from the top than every kept one is dropped, a nearer one
   *   replaces the farthest (a venue cannot grow the book without bound; the
   *   top is always exact). @default 10_000
   */
  constructor(options: { readonly maxLevels?: number } = {}) {
    this.#maxLevels = Math.max(1, options.maxLevels ?? 10_000);
  }

  /** Replace the whole book. Levels of size 0 are skipped; repeated prices keep the last size. */
  replace(bids: readonly BookLevel[], asks: readonly BookLevel[]): void {
    this.#bids.clear();
    this.#asks.clear();
    for (const l of bids) this.set('bid', l.price, l.size);
    for (const l of asks) this.set('ask', l.price, l.size);
  }

  /** Set the absolute size at a price; size 0 removes the level. */
  set(side: BookSide, price: number, size: number): void {
    const levels = side === 'bid' ? this.#bids : this.#asks;
    if (size <= 0) {
      levels.delete(price);
      return;
    }
    if (!levels.has(price) && levels.size >= this.#maxLevels) {
      // The farthest level from the top: the lowest bid, the highest ask.
      const far = best(levels, side === 'bid' ? (a, b) => a < b : (a, b) => a > b)!;
      const nearer = side === 'bid' ? price > far.price : price < far.price;
      if (!nearer) return;
      levels.delete(far.price);
    }
    levels.set(price, size);
  }

  /** Add `delta` to the size at a price (negative removes); a level reaching 0 or less is removed. */
  add(side: BookSide, price: number, delta: number): void {
    const levels = side === 'bid' ? this.#bids : this.#asks;
    this.set(side, price, (levels.get(price) ?? 0) + delta);
  }

  /** Highest bid, or undefined if the bid side is empty. */
  bestBid(): BookLevel | undefined {
    return best(this.#bids, (a, b) => a > b);
  }

  /** Lowest ask, or undefined if the ask side is empty. */
  bestAsk(): BookLevel | undefined {
    return best(this.#asks, (a, b) => a < b);
  }

  /** Number of levels on a side. */
  depth(side: BookSide): number {
    return (side === 'bid' ? this.#bids : this.#asks).size;
  }
}

function best(levels: ReadonlyMap<number, number>, better: (a: number, b: number) => boolean): BookLevel | undefined {
  let top: BookLevel | undefined;
  for (const [price, size] of levels) if (top === undefined || better(price, top.price)) top = { price, size };
  return top;
}
