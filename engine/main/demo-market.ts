/**
 * Where `npm start` (start.ts) publishes its market inputs: the in-process
 * market log, or the JetStream market stream through the tick publisher,
 * from which the node reads them back in order.
 */
import type { Instrument } from '../../actors/index.js';
import type { EngineInput } from '../index.js';
import type { ComposedNode } from './compose-node.js';

/** A market input: a tick, a clock beat or a resolution. */
export type MarketInput = Exclude<EngineInput, { type: 'create' | 'command' | 'tier' | 'instrument' }>;

/** Publishes the demo's market inputs and counts the publishes that failed. */
export class DemoMarket {
  /** Publishes that failed (the node never sees them). */
  failures = 0;
  readonly #composed: ComposedNode;
  readonly #instruments: readonly Instrument[];

  constructor(composed: ComposedNode, instruments: readonly Instrument[]) {
    this.#composed = composed;
    this.#instruments = instruments;
  }

  /** Publish one market input (bound: it is handed around as a function). */
  readonly publish = (input: MarketInput): void => {
    const composed = this.#composed;
    if (composed.memoryMarket !== undefined) {
      composed.memoryMarket.publish(input);
      return;
    }
    const pub = composed.tickPublisher!;
    const venue = (symbol: string) => this.#instruments.find((i) => i.symbol === symbol || i.market === symbol)?.venue ?? 'synthetic';
    const sent =
      input.type === 'tick'
        ? pub.publishTick({
            venue: venue(input.symbol),
            symbol: input.symbol,
            ts: input.ts,
            bid: input.bid,
            ask: input.ask,
            bidSize: input.bidSize,
            askSize: input.askSize,
            venueSeq: input.seq,
          })
        : input.type === 'clock'
          ? pub.publishClock(input.time)
          : pub.publishResolution({ venue: venue(input.market), market: input.market, outcome: input.outcome, ts: input.ts });
    sent.catch(() => this.failures++);
  };
}
