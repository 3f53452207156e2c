/**
 * One symbol's slice of the price index: four heaps of trigger prices, one per
 * side of the book and direction, so a tick pops exactly the entries it crosses.
 * "Low" heaps store negated keys so that one min-heap type serves both directions.
 * Triggers are inclusive: a tick at the trigger price fires it; a spurious
 * evaluation is harmless, a missed one is not.
 */
import type { Order, Quote } from '../actors/index.js';
import { TriggerHeap } from './trigger-heap.js';

/** Shrinks every band slightly so that rounding can never hide a crossing. */
const RELATIVE_MARGIN = 1e-9;
const NOTIONAL_MARGIN = 1e-12;

export class SymbolIndex {
  /** Fires when bid ≥ key (sell limits, long gain bands, always-on entries at −∞). */
  readonly bidHigh = new TriggerHeap();
  /** Fires when bid ≤ key (sell stops, long loss bands). */
  readonly bidLow = new TriggerHeap();
  /** Fires when ask ≥ key (buy stops, short loss bands). */
  readonly askHigh = new TriggerHeap();
  /** Fires when ask ≤ key (buy limits, short gain bands). */
  readonly askLow = new TriggerHeap();

  /** Pop every entry this quote crosses; `visit` may see a slot more than once. */
  collect(bid: number, ask: number, versions: Uint32Array, visit: (slot: number) => void): void {
    this.bidHigh.popUpTo(bid, versions, visit);
    this.bidLow.popUpTo(-bid, versions, visit);
    this.askHigh.popUpTo(ask, versions, visit);
    this.askLow.popUpTo(-ask, versions, visit);
  }

  /** A working order's trigger: the price at which matching could fill or trigger it. */
  addOrder(o: Order, slot: number, ver: number): void {
    if (o.type === 'market' || (o.type === 'stop' && o.triggered)) {
      this.bidHigh.push(-Infinity, slot, ver); // waits for liquidity: every tick
    } else if (o.type === 'limit') {
      if (o.side === 'buy') this.askLow.push(-o.limitPrice!, slot, ver);
      else this.bidHigh.push(o.limitPrice!, slot, ver);
    } else if (o.side === 'buy') {
      this.askHigh.push(o.stopPrice!, slot, ver);
    } else {
      this.bidLow.push(-o.stopPrice!, slot, ver);
    }
  }

  /**
   * A position's band: the account's loss room `loss` and gain room `gain`
   * allotted to this position, turned into prices on its marking side.
   */
  addBands(qty: number, quote: Quote | undefined, loss: number, gain: number, slot: number, ver: number): void {
    if (quote === undefined) {
      this.bidHigh.push(-Infinity, slot, ver);
      return;
    }
    const q = Math.abs(qty);
    const mark = qty > 0 ? quote.bid : quote.ask;
    const margin = q * mark * NOTIONAL_MARGIN;
    const down = Math.max(0, loss * (1 - RELATIVE_MARGIN) - margin) / q;
    const up = Math.max(0, gain * (1 - RELATIVE_MARGIN) - margin) / q;
    if (qty > 0) {
      if (Number.isFinite(down)) this.bidLow.push(-(mark - down), slot, ver);
      if (Number.isFinite(up)) this.bidHigh.push(mark + up, slot, ver);
    } else {
      if (Number.isFinite(down)) this.askHigh.push(mark + down, slot, ver);
      if (Number.isFinite(up)) this.askLow.push(-(mark - up), slot, ver);
    }
  }

  /** Drop stale entries once a heap has doubled: the owner stales entries by version without counting them. */
  compact(versions: Uint32Array): void {
    this.bidHigh.compactIfGrown(versions);
    this.bidLow.compactIfGrown(versions);
    this.askHigh.compactIfGrown(versions);
    this.askLow.compactIfGrown(versions);
  }
}
