/**
 * The events stream into the history read model: a durable JetStream
 * consumer (explicit acks) whose messages are decoded, batched and handed to
 * a sink (the history store's `ingest`), and acknowledged only once the sink
 * has stored them. A failed batch is not acknowledged: it comes again, and
 * the store takes each event once by its identity, so redelivery, a restart
 * or two processes on one durable consumer change nothing.
 *
 * Messages that are not assessment events (payments, simulations, reports)
 * or do not decode are acknowledged and skipped.
 */
import { Decoder } from '@msgpack/msgpack';
import {
  AckPolicy,
  DeliverPolicy,
  type ConsumerMessages,
  type JetStreamClient,
  type JetStreamManager,
  type JsMsg,
} from '@nats-io/jetstream';
import type { HistoryEvent } from '../../persistence/index.js';
import { DEFAULT_EVENTS_STREAM } from './event-publisher.js';
import { eventSubject } from './subjects.js';

export interface JetStreamHistoryConsumerOptions {
  /** Stores a batch; rejects to have it delivered again. */
  readonly sink: (events: HistoryEvent[]) => Promise<unknown>;
  /** @default 'EVENTS' */
  readonly stream?: string;
  /** Durable consumer name (processes sharing it share the work). @default 'history' */
  readonly durable?: string;
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** Events per sink call. @default 1_000 */
  readonly maxBatch?: number;
  /** A partial batch waits at most this long for more, ms. @default 20 */
  readonly lingerMs?: number;
  /** Unacknowledged messages are delivered again after this, ms. @default 60_000 */
  readonly ackWaitMs?: number;
  /** Told of a batch the sink refused (it will come again) or a message skipped. @default none */
  readonly onError?: (err: unknown, what: string) => void;
}

const NANOS = 1_000_000;

/** Whether a decoded payload is an assessment event the history keeps. */
function asEvent(body: unknown): HistoryEvent | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const e = body as Record<string, unknown>;
  if (
    typeof e['type'] !== 'string' ||
    typeof e['assessmentId'] !== 'string' ||
    !Number.isSafeInteger(e['input']) ||
    !Number.isSafeInteger(e['n']) ||
    typeof e['at'] !== 'number'
  )
    return undefined;
  return eventSubject(e['type']) === undefined ? undefined : (body as HistoryEvent);
}

export class JetStreamHistoryConsumer {
  readonly #o: JetStreamHistoryConsumerOptions;
  readonly #decoder = new Decoder();
  #messages: ConsumerMessages | undefined;
  #pending: JsMsg[] = [];
  #timer: NodeJS.Timeout | undefined;
  #chain: Promise<void> = Promise.resolve();
  #loop: Promise<void> = Promise.resolve();
  #stopped = false;
  #stored = 0;
  #skipped = 0;

  private constructor(options: JetStreamHistoryConsumerOptions) {
    this.#o = options;
  }

  /** Create (or reuse) the durable consumer and start consuming. */
  static async start(
    js: JetStreamClient,
    jsm: JetStreamManager,
    options: JetStreamHistoryConsumerOptions,
  ): Promise<JetStreamHistoryConsumer> {
    const c = new JetStreamHistoryConsumer(options);
    const stream = options.stream ?? DEFAULT_EVENTS_STREAM;
    const durable = options.durable ?? 'history';
    const config = {
      durable_name: durable,
      ack_policy: AckPolicy.Explicit,
      deliver_policy: DeliverPolicy.All,
      ack_wait: (options.ackWaitMs ?? 60_000) * NANOS,
      max_ack_pending: 20_000,
    };
    try {
      await jsm.consumers.info(stream, durable);
    } catch {
      await jsm.consumers.add(stream, config);
    }
    const consumer = await js.consumers.get(stream, durable);
    c.#messages = await consumer.consume({ max_messages: 2 * (options.maxBatch ?? 1_000) });
    c.#loop = c.#run(c.#messages);
    return c;
  }

  /** Events handed to the sink and acknowledged. */
  get stored(): number {
    return this.#stored;
  }
  /** Messages acknowledged without an event (not an assessment event, or not decodable). */
  get skipped(): number {
    return this.#skipped;
  }

  /** Stop consuming; what was read and not stored stays unacknowledged and comes again. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#messages?.close().catch(() => undefined);
    await this.#loop.catch(() => undefined);
    await this.#chain;
  }

  async #run(messages: ConsumerMessages): Promise<void> {
    for await (const m of messages) {
      if (this.#stopped) break;
      this.#pending.push(m);
      if (this.#pending.length >= (this.#o.maxBatch ?? 1_000)) await this.#flush();
      else if (this.#timer === undefined) this.#timer = setTimeout(() => void this.#flush(), this.#o.lingerMs ?? 20);
    }
  }

  #flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length === 0) return this.#chain;
    this.#chain = this.#chain.then(() => this.#store(batch));
    return this.#chain;
  }

  async #store(batch: readonly JsMsg[]): Promise<void> {
    const events: HistoryEvent[] = [];
    const carried: JsMsg[] = [];
    for (const m of batch) {
      let event: HistoryEvent | undefined;
      try {
        event = asEvent(this.#decoder.decode(m.data));
      } catch (err) {
        this.#o.onError?.(err, `decode message ${m.seq} on ${m.subject}`);
      }
      if (event === undefined) {
        this.#skipped++;
        m.ack();
      } else {
        events.push(event);
        carried.push(m);
      }
    }
    if (events.length === 0) return;
    try {
      await this.#o.sink(events);
    } catch (err) {
      this.#o.onError?.(err, `store ${events.length} events (they will be delivered again)`);
      for (const m of carried) m.nak(1_000);
      return;
    }
    for (const m of carried) m.ack();
    this.#stored += events.length;
  }
}
