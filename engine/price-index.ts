/**
 * The shard's price index: per symbol, the trigger prices of working orders
 * and the price bands of positions, so that a tick reaches only the actors it
 * can affect.
 *
 * After every evaluation an actor's loss room (equity above its highest floor)
 * and gain room (equity below its trailing peak or target) are split across
 * its positions in proportion to notional, giving each position a price band.
 * While every position stays inside its band the account cannot cross a floor,
 * a peak or a target, so only ticks that leave a band (or reach a working
 * order's trigger) need the actor. Exchanges index liquidation and stop prices
 * the same way.
 */
import type { AssessmentActor, Figures, MarketView } from '../actors/index.js';
import { SymbolIndex } from './symbol-index.js';

export class PriceIndex {
  readonly #symbols = new Map<string, SymbolIndex>();
  /** An entry is current while its version equals its slot's. */
  #versions = new Uint32Array(1024);
  /** Marks slots already collected for the current tick. */
  #stamp = new Uint32Array(1024);
  #stampNo = 0;
  #hits = new Uint32Array(1024);
  #hitCount = 0;
  readonly #collect = (slot: number): void => {
    if (this.#stamp[slot] === this.#stampNo) return;
    this.#stamp[slot] = this.#stampNo;
    if (this.#hitCount === this.#hits.length) this.#hits = grow(this.#hits, this.#hitCount);
    this.#hits[this.#hitCount++] = slot;
  };

  /** Make room for a new slot. */
  addSlot(slot: number): void {
    if (slot >= this.#versions.length) {
      this.#versions = grow(this.#versions, slot);
      this.#stamp = grow(this.#stamp, slot);
    }
  }

  /**
   * How many slots a quote on `symbol` reaches; they are the first that many
   * of {@link hitSlots}, each once, in slot order, until the next call. Slot
   * order rather than the heaps' price order: slots were allocated with their
   * actors, so a flash move reaching thousands of actors walks the heap in
   * address order instead of at random. Allocates nothing unless two or more
   * are reached (most ticks reach none).
   */
  hits(symbol: string, bid: number, ask: number): number {
    this.#hitCount = 0;
    const idx = this.#symbols.get(symbol);
    if (idx === undefined) return 0;
    this.#stampNo++;
    idx.collect(bid, ask, this.#versions, this.#collect);
    idx.compact(this.#versions);
    if (this.#hitCount > 1) this.#hits.subarray(0, this.#hitCount).sort();
    return this.#hitCount;
  }

  /** The slots the last {@link hits} reached, in its first entries (the buffer is reused). */
  get hitSlots(): Uint32Array {
    return this.#hits;
  }

  /** Drop every entry of a slot (they go stale where they are; heaps drop stale entries as they grow). */
  remove(slot: number): void {
    this.#versions[slot]!++;
  }

  /**
   * Re-derive a slot's bands and triggers from its actor's state now.
   * @param fig the actor's figures at these quotes, when the caller has them
   */
  update(slot: number, actor: AssessmentActor, market: MarketView, fig?: Figures): void {
    this.remove(slot);
    const s = actor.state;
    if (!actor.live) return; // paused accounts keep their orders and positions judged
    const ver = this.#versions[slot]!;
    for (const id in s.orders) {
      const o = s.orders[id]!;
      this.#index(o.symbol).addOrder(o, slot, ver);
    }
    let gross = 0;
    for (const symbol in s.positions) gross += notional(s.positions[symbol]!.qty, symbol, market);
    if (gross === 0) return;
    const { lossRoom, gainRoom } = fig === undefined ? actor.watch(market) : actor.watch(market, fig);
    for (const symbol in s.positions) {
      const qty = s.positions[symbol]!.qty;
      const share = notional(qty, symbol, market) / gross;
      this.#index(symbol).addBands(qty, market.quote(symbol), lossRoom * share, gainRoom * share, slot, ver);
    }
  }

  #index(symbol: string): SymbolIndex {
    let idx = this.#symbols.get(symbol);
    if (idx === undefined) {
      idx = new SymbolIndex();
      this.#symbols.set(symbol, idx);
    }
    return idx;
  }
}

function notional(qty: number, symbol: string, market: MarketView): number {
  const q = market.quote(symbol);
  return q === undefined ? 0 : Math.abs(qty) * (qty > 0 ? q.bid : q.ask);
}

/** A copy at least twice as long and longer than `slot`. */
export function grow(a: Uint32Array, slot: number): Uint32Array<ArrayBuffer> {
  let n = a.length * 2;
  while (n <= slot) n *= 2;
  const b = new Uint32Array(n);
  b.set(a);
  return b;
}
