/**
 * The market stream as the replays read it: one ordered consumer from the
 * first message on, kept running, every input collected with its seq.
 */
import type { JetStreamClient } from '@nats-io/jetstream';
import { DEFAULT_INSTRUMENTS } from '../../../actors/index.js';
import { JetStreamTickSource } from '../../../transport/nats/index.js';
import type { MarketInput } from '../../index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Reads a market stream into memory until stopped. */
export class MarketTap {
  readonly inputs: MarketInput[] = [];
  readonly #source: JetStreamTickSource;
  readonly #loop: Promise<void>;

  constructor(js: JetStreamClient, o: { stream: string; namespace: string }) {
    const source = new JetStreamTickSource(js, {
      stream: o.stream,
      namespace: o.namespace,
      symbols: DEFAULT_INSTRUMENTS.map((i) => i.symbol),
    });
    this.#source = source;
    this.#loop = (async () => {
      for await (const m of source) this.inputs.push(m);
    })();
  }

  /** The last stream seq read (malformed messages included). */
  get lastSeq(): number {
    return this.#source.lastSeq;
  }

  /** Wait (bounded) until everything up to `seq` is read; the inputs up to it. */
  async upTo(seq: number, timeoutMs = 60_000): Promise<MarketInput[]> {
    const end = Date.now() + timeoutMs;
    while (this.#source.lastSeq < seq) {
      if (Date.now() > end) throw new Error(`market stream read to ${this.#source.lastSeq}, not ${seq}, in ${timeoutMs} ms`);
      await sleep(50);
    }
    return this.inputs.filter((m) => m.seq <= seq);
  }

  async stop(): Promise<void> {
    await this.#source.stop();
    await this.#loop;
  }
}
