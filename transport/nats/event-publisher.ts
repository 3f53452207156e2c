/**
 * The engine's domain events onto JetStream: an `EngineOutput` that maps each
 * published event type to its subject (see `eventSubject`), encodes the event
 * as msgpack and publishes it with msg id `<assessmentId>:<input>:<n>`, so a
 * replayed engine (recovery) republishing the same events is deduplicated by
 * the events stream.
 *
 * `onEvents` is synchronous, as the engine calls it: events are queued and
 * sent in batches of pipelined publishes (all of a batch in flight at once,
 * then their acks awaited), in output order. Failures never throw into the
 * engine; they are reported through `onError`.
 */
import { Encoder } from '@msgpack/msgpack';
import type { JetStreamClient, JetStreamManager, PubAck, StreamInfo } from '@nats-io/jetstream';
import type { EngineOutput, OutputEvent } from '../../engine/index.js';
import { ensureStream, type StreamOptions } from './market-stream.js';
import { domainEventSubjects, eventSubject, withNamespace } from './subjects.js';

/** Stream name of domain events when none is given. */
export const DEFAULT_EVENTS_STREAM = 'EVENTS';

/** {@link ensureStream} with the domain-event defaults (`EVENTS`, `trading.>`, `assessment.>`, `rules.>`). */
export function ensureEventStream(jsm: JetStreamManager, options: StreamOptions = {}): Promise<StreamInfo> {
  return ensureStream(jsm, {
    ...options,
    name: options.name ?? DEFAULT_EVENTS_STREAM,
    subjects: options.subjects ?? domainEventSubjects(),
  });
}

/** Dedupe id of a published event: `<assessmentId>:<input>:<n>`. */
export function eventMsgId(event: Pick<OutputEvent, 'assessmentId' | 'input' | 'n'>): string {
  return `${event.assessmentId}:${event.input}:${event.n}`;
}

/** A publish that failed, with the event it carried. */
export interface EventPublishFailure {
  readonly event: OutputEvent;
  readonly subject: string;
  readonly msgId: string;
  readonly error: Error;
}

export interface JetStreamEventPublisherOptions {
  /** Subject namespace (see `withNamespace`). @default '' (none) */
  readonly namespace?: string;
  /** Most publishes in flight at once (one batch). @default 256 */
  readonly maxBatch?: number;
  /** Called once per failed publish; exceptions it throws are swallowed. @default failures are only counted */
  readonly onError?: (failure: EventPublishFailure) => void;
  /** Publish ack timeout, ms. @default the JetStream client's */
  readonly timeoutMs?: number;
  /**
   * Publish a failed event again (same msg id, so the stream stores it once)
   * until it is stored, backing off up to 2 s; `flush()` waits for it. For an
   * engine whose checkpoints must not pass an unpublished event. Each failed
   * attempt is still reported through `onError`.
   * @default false (a failed event is reported and dropped)
   */
  readonly retryFailed?: boolean;
}

interface Pending {
  readonly event: OutputEvent;
  readonly subject: string;
  readonly msgId: string;
}

/** An event that cannot be encoded: publishing it again would not help. */
class EncodeError extends Error {
  constructor(cause: unknown) {
    super(`event not encodable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = 'EncodeError';
  }
}

/** Publishes the engine's domain events to the events stream. */
export class JetStreamEventPublisher implements EngineOutput {
  readonly #js: JetStreamClient;
  readonly #namespace: string;
  readonly #maxBatch: number;
  readonly #onError: JetStreamEventPublisherOptions['onError'];
  readonly #timeoutMs: number | undefined;
  readonly #retry: boolean;
  readonly #encoder = new Encoder({ ignoreUndefined: true });
  #queue: Pending[] = [];
  #draining: Promise<void> | undefined;
  #published = 0;
  #duplicates = 0;
  #failed = 0;
  #skipped = 0;

  constructor(js: JetStreamClient, options: JetStreamEventPublisherOptions = {}) {
    const maxBatch = options.maxBatch ?? 256;
    if (!Number.isSafeInteger(maxBatch) || maxBatch < 1) throw new RangeError(`maxBatch must be a positive integer, got ${maxBatch}`);
    this.#js = js;
    this.#namespace = options.namespace ?? '';
    this.#maxBatch = maxBatch;
    this.#onError = options.onError;
    this.#timeoutMs = options.timeoutMs;
    this.#retry = options.retryFailed ?? false;
  }

  /** Events stored by the stream. */
  get published(): number {
    return this.#published;
  }
  /** Events the stream already had (same msg id within its duplicate window). */
  get duplicates(): number {
    return this.#duplicates;
  }
  /** Publishes that failed (reported through `onError`). */
  get failed(): number {
    return this.#failed;
  }
  /** Events not published because their type has no domain subject. */
  get skipped(): number {
    return this.#skipped;
  }
  /** Events queued or in flight. */
  get pending(): number {
    return this.#queue.length;
  }

  onEvents(events: readonly OutputEvent[], _shard: number): void {
    for (const event of events) {
      const subject = eventSubject(event.type);
      if (subject === undefined) {
        this.#skipped++;
        continue;
      }
      this.#queue.push({ event, subject: withNamespace(subject, this.#namespace), msgId: eventMsgId(event) });
    }
    if (this.#queue.length > 0) this.#draining ??= this.#drain();
  }

  /** Resolves once every event handed over so far has been acknowledged or reported failed. */
  async flush(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  async #drain(): Promise<void> {
    try {
      // Let the rest of the current engine batch join the first publish batch.
      await Promise.resolve();
      let backoffMs = 50;
      while (this.#queue.length > 0) {
        const batch = this.#queue.splice(0, this.#maxBatch);
        const results = await Promise.allSettled(batch.map((p) => this.#publish(p)));
        const again: Pending[] = [];
        results.forEach((r, i) => {
          if (r.status === 'fulfilled') {
            if (r.value.duplicate) this.#duplicates++;
            else this.#published++;
          } else {
            this.#failed++;
            const p = batch[i]!;
            const error = r.reason instanceof Error ? r.reason : new Error(String(r.reason));
            if (this.#retry && !(r.reason instanceof EncodeError)) again.push(p);
            try {
              this.#onError?.({ event: p.event, subject: p.subject, msgId: p.msgId, error });
            } catch {
              // A failing observer must not stop publishing.
            }
          }
        });
        if (again.length > 0) {
          this.#queue.unshift(...again); // in order, ahead of later events
          await new Promise((r) => setTimeout(r, backoffMs));
          backoffMs = Math.min(2_000, backoffMs * 2);
        } else {
          backoffMs = 50;
        }
      }
    } finally {
      this.#draining = undefined;
    }
  }

  #publish(p: Pending): Promise<PubAck> {
    let data: Uint8Array;
    try {
      data = this.#encoder.encode(p.event);
    } catch (err) {
      return Promise.reject(new EncodeError(err));
    }
    return this.#js.publish(
      p.subject,
      data,
      this.#timeoutMs === undefined ? { msgID: p.msgId } : { msgID: p.msgId, timeout: this.#timeoutMs },
    );
  }
}
