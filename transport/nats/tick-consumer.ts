/**
 * Reads the market stream back as engine inputs. Each tick or resolution
 * becomes a `TickInput` / `ResolutionInput` whose `seq` is the JetStream
 * stream sequence of its message, so the stream itself is the market order
 * and a restart resumes exactly at `startSeq` (the last applied seq + 1).
 *
 * Malformed messages never throw and never stop the loop: they are counted
 * and handed to `onMalformed` with the reason, then skipped. Ticks are
 * validated as every door validates them (`validateQuote` for the symbol's
 * instrument kind when `instruments` is given; bid ≤ ask, finite, not
 * negative, integer time otherwise), so an invalid quote never reaches the
 * engine. The consumer is ordered (no acks): a skipped message is consumed
 * and counted, never redelivered.
 */
import { Decoder } from '@msgpack/msgpack';
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient, type JsMsg, type OrderedConsumerOptions } from '@nats-io/jetstream';
import type { Instrument } from '../../actors/index.js';
import { MarketRegistry, parseInstrument, type MarketInput } from '../../engine/index.js';
import { MarketMessageDecoder, type MalformedMessage } from './market-message-decoder.js';
import { INSTRUMENTS_PREFIX, parseMarketSubject, withNamespace } from './subjects.js';

export type { MarketInput };

export type { MalformedKind, MalformedMessage } from './market-message-decoder.js';

export interface JetStreamTickSourceOptions {
  /** Market stream name. @default 'MARKET' */
  readonly stream?: string;
  /** First stream sequence to read (the last applied seq + 1 when recovering). @default 1 (the whole stream) */
  readonly startSeq?: number;
  /** Subject namespace the publisher used (see `withNamespace`). @default '' (none) */
  readonly namespace?: string;
  /** Engine symbols accepted; ticks of any other symbol are reported malformed. @default any symbol */
  readonly symbols?: Iterable<string>;
  /** Markets whose resolutions are accepted; others are reported malformed. @default any market */
  readonly markets?: Iterable<string>;
  /**
   * Instruments the engine knows: ticks of other symbols are refused
   * (`unknown_symbol`), quotes are checked by the instrument's kind (a binary
   * share within 0..1), and resolutions must name a known market and one of
   * its outcomes. @default none: only kind-independent checks
   */
  readonly instruments?: Iterable<Instrument>;
  /** Called once per skipped message. Exceptions it throws are swallowed. */
  readonly onMalformed?: (message: MalformedMessage) => void;
  /** Messages per pull request. @default 1_000 (the client's own default, 100, makes a pull every ~25 messages) */
  readonly pullBatch?: number;
}

/**
 * Ordered-consumer source of market inputs. Iterate it once with `for await`;
 * `stop()` ends the iteration cleanly (after the message in hand).
 */
export class JetStreamTickSource implements AsyncIterable<MarketInput> {
  readonly #js: JetStreamClient;
  readonly #stream: string;
  readonly #startSeq: number;
  readonly #namespace: string;
  readonly #registry: MarketRegistry | undefined;
  readonly #onMalformed: JetStreamTickSourceOptions['onMalformed'];
  /** For the instrument definitions read ahead of `startSeq`. */
  readonly #decoder = new Decoder();
  readonly #messageDecoder: MarketMessageDecoder;
  readonly #pullBatch: number;
  #messages: ConsumerMessages | undefined;
  #stopped = false;
  #started = false;
  /** Resolves the wait of `batches()` for more messages. */
  #wakeBatches: (() => void) | undefined;
  #lastSeq = 0;

  constructor(js: JetStreamClient, options: JetStreamTickSourceOptions = {}) {
    const startSeq = options.startSeq ?? 1;
    if (!Number.isSafeInteger(startSeq) || startSeq < 1) throw new RangeError(`startSeq must be a positive integer, got ${startSeq}`);
    this.#js = js;
    this.#stream = options.stream ?? 'MARKET';
    this.#startSeq = startSeq;
    this.#namespace = options.namespace ?? '';
    this.#registry = options.instruments === undefined ? undefined : new MarketRegistry(options.instruments);
    this.#onMalformed = options.onMalformed;
    this.#messageDecoder = new MarketMessageDecoder({
      namespace: this.#namespace,
      symbols: options.symbols === undefined ? undefined : new Set(options.symbols),
      markets: options.markets === undefined ? undefined : new Set(options.markets),
      registry: this.#registry,
      report: (message) => this.#report(message),
    });
    this.#lastSeq = startSeq - 1;
    this.#pullBatch = options.pullBatch ?? 1_000;
  }

  /** Messages skipped as malformed so far. */
  get malformed(): number {
    return this.#messageDecoder.malformed;
  }

  /** Stream sequence of the last message handled (yielded or skipped); `startSeq - 1` before any. */
  get lastSeq(): number {
    return this.#lastSeq;
  }

  /** Where a restarted source should start to neither lose nor repeat a message. */
  get nextSeq(): number {
    return this.#lastSeq + 1;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<MarketInput> {
    if (this.#started) throw new Error('JetStreamTickSource can be iterated only once');
    this.#started = true;
    if (this.#stopped) return;
    await this.#learnEarlierInstruments();
    if (this.#stopped) return;
    const opts: Partial<OrderedConsumerOptions> = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#startSeq };
    const consumer = await this.#js.consumers.get(this.#stream, opts);
    if (this.#stopped) return;
    const messages = await consumer.consume({ max_messages: this.#pullBatch });
    this.#messages = messages;
    // Stopped while the consumer was made: an iterator closed before its first read may never end, so it is not read.
    if (this.#stopped) return void (await messages.close().catch(() => undefined));
    try {
      for await (const m of messages) {
        const seq = m.seq;
        if (seq <= this.#lastSeq) {
          // Never apply a sequence twice, even if a consumer were recreated early: report and skip.
          this.#report({
            seq,
            subject: m.subject,
            reason: `stream sequence ${seq} already handled (last ${this.#lastSeq})`,
            kind: 'duplicate_seq',
          });
          continue;
        }
        this.#lastSeq = seq;
        const input = this.#messageDecoder.decode(m);
        if (input !== undefined) yield input;
        if (this.#stopped) break;
      }
    } finally {
      this.#stopped = true;
      await messages.close().catch(() => undefined);
    }
  }

  /**
   * The same inputs in delivery batches: every message the client handed over
   * since the last read, decoded, in stream order. Messages arrive through the
   * consumer's callback (no promise per message, as the iterator above costs),
   * and a batch is one resolution per socket read. At most `maxBuffered`
   * inputs wait: past that the consumer is closed and, once the reader has
   * taken the buffer, reopened at the next sequence (an ordered consumer
   * acknowledges nothing, so nothing is lost or repeated). Iterate this or the
   * source itself, once.
   */
  async *batches(options: { readonly maxBuffered?: number } = {}): AsyncGenerator<MarketInput[]> {
    if (this.#started) throw new Error('JetStreamTickSource can be iterated only once');
    this.#started = true;
    const maxBuffered = options.maxBuffered ?? 65_536;
    let buffer: MarketInput[] = [];
    let failure: unknown;
    let ended = false;
    let open = false;
    let generation = 0; // which consumer is current: a closed one's late notice is not the reading's end
    const onMessage = (m: JsMsg): void => {
      if (!open || this.#stopped) return; // closed for overflow: the reopened consumer delivers it again
      const seq = m.seq;
      if (seq <= this.#lastSeq) {
        this.#report({
          seq,
          subject: m.subject,
          reason: `stream sequence ${seq} already handled (last ${this.#lastSeq})`,
          kind: 'duplicate_seq',
        });
        return;
      }
      this.#lastSeq = seq;
      const input = this.#messageDecoder.decode(m);
      if (input !== undefined) buffer.push(input);
      if (buffer.length >= maxBuffered) {
        open = false; // the reader is behind: stop taking messages until it catches up
        void this.#messages?.close().catch(() => undefined);
      }
      this.#wake();
    };
    const openConsumer = async (): Promise<void> => {
      const opts: Partial<OrderedConsumerOptions> = { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: this.#lastSeq + 1 };
      const consumer = await this.#js.consumers.get(this.#stream, opts);
      if (this.#stopped) return;
      const mine = ++generation;
      open = true;
      const messages = await consumer.consume({ max_messages: this.#pullBatch, callback: onMessage });
      this.#messages = messages;
      void messages.closed().then((err) => {
        // Closed by the client or the server, not for overflow: the reading ends (with the error, if any), as the iterator's would.
        if (open && mine === generation) {
          ended = true;
          if (err !== undefined && err !== null) failure = err;
        }
        this.#wake();
      });
      if (this.#stopped) await messages.close().catch(() => undefined);
    };
    try {
      if (this.#stopped) return;
      await this.#learnEarlierInstruments();
      await openConsumer();
      while (!this.#stopped) {
        if (buffer.length === 0) {
          if (failure !== undefined) throw failure;
          if (ended) return;
          if (!open) await openConsumer();
          else await new Promise<void>((r) => (this.#wakeBatches = r));
          continue;
        }
        const out = buffer;
        buffer = [];
        yield out;
      }
    } finally {
      this.#stopped = true;
      open = false;
      await this.#messages?.close().catch(() => undefined);
    }
  }

  /**
   * A reading that starts past the stream's head (a restart at a checkpoint)
   * must still know the instruments defined before it, or their ticks would be
   * refused: their definitions are read first (only the `instruments.>`
   * subjects, up to `startSeq`), checked as when read in order, and not yielded
   * (the engine's checkpoint already holds them).
   */
  async #learnEarlierInstruments(): Promise<void> {
    if (this.#registry === undefined || this.#startSeq <= 1) return;
    const consumer = await this.#js.consumers.get(this.#stream, {
      filter_subjects: withNamespace(`${INSTRUMENTS_PREFIX}.>`, this.#namespace),
    });
    let pending = (await consumer.info()).num_pending;
    while (pending > 0 && !this.#stopped) {
      const batch = await consumer.fetch({ max_messages: Math.min(pending, this.#pullBatch), expires: 5_000 });
      let got = 0;
      for await (const m of batch) {
        got++;
        pending = m.info.pending;
        if (m.seq >= this.#startSeq) return;
        const parsed = parseMarketSubject(m.subject, this.#namespace);
        let body: unknown;
        try {
          body = this.#decoder.decode(m.data);
        } catch {
          continue; // reported when it was read in order
        }
        const def = parseInstrument(body);
        if (parsed?.kind !== 'instrument' || !def.ok || def.instrument.symbol !== parsed.symbol) continue;
        if (this.#registry.checkInstrument(def.instrument) === undefined) this.#registry.add(def.instrument);
      }
      if (got === 0) return;
    }
  }

  /** Stops consuming; a pending `for await` ends. Idempotent. */
  async stop(): Promise<void> {
    this.#stopped = true;
    const messages = this.#messages;
    if (messages !== undefined) await messages.close().catch(() => undefined);
    this.#wake();
  }

  #wake(): void {
    const w = this.#wakeBatches;
    this.#wakeBatches = undefined;
    w?.();
  }

  #report(message: MalformedMessage): void {
    try {
      this.#onMalformed?.(message);
    } catch {
      // A failing observer must not stop the market.
    }
  }
}
