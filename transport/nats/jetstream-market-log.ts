/**
 * The market stream as the engine node's market log: each reading is an
 * ordered consumer from a stream sequence, and `tail()` reads the stream's
 * last sequence so a recovering node knows when it has caught up.
 */
import type { JetStreamClient, JetStreamManager } from '@nats-io/jetstream';
import type { Instrument } from '../../actors/index.js';
import type { MarketLog, MarketReader } from '../../engine/index.js';
import { DEFAULT_MARKET_STREAM } from './market-stream.js';
import { JetStreamTickSource, type MalformedMessage } from './tick-consumer.js';

/** Options of {@link JetStreamMarketLog}. */
export interface JetStreamMarketLogOptions {
  /** Stream name. @default 'MARKET' */
  readonly stream?: string;
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** Symbols the engine trades; ticks of others are skipped and reported. @default any */
  readonly symbols?: Iterable<string>;
  /** Instruments the engine knows: quotes are checked by their kind, resolutions against their markets (see `JetStreamTickSourceOptions.instruments`). @default none */
  readonly instruments?: Iterable<Instrument>;
  /** Called once per skipped message. */
  readonly onMalformed?: (message: MalformedMessage) => void;
}

/** {@link MarketLog} over a JetStream stream. */
export class JetStreamMarketLog implements MarketLog {
  readonly #js: JetStreamClient;
  readonly #jsm: JetStreamManager;
  readonly #o: JetStreamMarketLogOptions;
  readonly #symbols: string[] | undefined;
  readonly #instruments: Instrument[] | undefined;

  constructor(js: JetStreamClient, jsm: JetStreamManager, options: JetStreamMarketLogOptions = {}) {
    this.#js = js;
    this.#jsm = jsm;
    this.#o = options;
    this.#symbols = options.symbols === undefined ? undefined : [...options.symbols];
    this.#instruments = options.instruments === undefined ? undefined : [...options.instruments];
  }

  open(fromSeq: number): MarketReader {
    return new JetStreamTickSource(this.#js, {
      stream: this.#o.stream ?? DEFAULT_MARKET_STREAM,
      startSeq: fromSeq,
      namespace: this.#o.namespace ?? '',
      ...(this.#symbols === undefined ? {} : { symbols: this.#symbols }),
      ...(this.#instruments === undefined ? {} : { instruments: this.#instruments }),
      ...(this.#o.onMalformed === undefined ? {} : { onMalformed: this.#o.onMalformed }),
    });
  }

  /** The stream's last sequence now (0 when empty). */
  async tail(): Promise<number> {
    const info = await this.#jsm.streams.info(this.#o.stream ?? DEFAULT_MARKET_STREAM);
    return info.state.last_seq;
  }
}
