/**
 * Which assessments each trader holds, for a gateway with no engine: read
 * from `assessment.created` on the events stream, from its start and then
 * live (an ordered consumer: no acks, no state on the server). An engine
 * node publishes the event once the create is journaled, so an assessment
 * shows up here a moment after its creation is acknowledged.
 */
import { decode } from '@msgpack/msgpack';
import { DeliverPolicy, type ConsumerMessages, type JetStreamClient } from '@nats-io/jetstream';
import type { Logger } from 'pino';
import { withNamespace } from './subjects.js';

/** Options of {@link followAssessmentCreations}. */
export interface AssessmentDirectoryOptions {
  /** The events stream. @default 'EVENTS' */
  readonly stream?: string;
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** Told of each assessment created (and, harmlessly, again for a repeated event). */
  readonly onCreated: (traderId: string, assessmentId: string) => void;
  /** @default silent */
  readonly log?: Logger;
}

/** A running reading of the creations; stop it with `stop()`. */
export interface AssessmentDirectory {
  /** Messages read so far. */
  readonly read: () => number;
  stop(): Promise<void>;
}

/** Start reading `assessment.created` from the start of the events stream. */
export async function followAssessmentCreations(js: JetStreamClient, o: AssessmentDirectoryOptions): Promise<AssessmentDirectory> {
  // One subject, as a string: sent as `filter_subject`, which server 2.9 knows (an array needs 2.10).
  const consumer = await js.consumers.get(o.stream ?? 'EVENTS', {
    filter_subjects: withNamespace('assessment.created', o.namespace),
    deliver_policy: DeliverPolicy.All,
  });
  const messages: ConsumerMessages = await consumer.consume({ max_messages: 512 });
  let read = 0;
  const done = (async () => {
    for await (const m of messages) {
      read++;
      try {
        const e = decode(m.data) as { assessmentId?: unknown; traderId?: unknown };
        if (
          typeof e.assessmentId === 'string' &&
          typeof e.traderId === 'string' &&
          e.assessmentId.length <= 128 &&
          e.traderId.length <= 128
        )
          o.onCreated(e.traderId, e.assessmentId);
      } catch (err) {
        o.log?.warn({ err, seq: m.seq }, 'an assessment.created message could not be read; skipped');
      }
    }
  })().catch((err: unknown) => o.log?.error({ err }, 'reading assessment.created stopped'));
  return {
    read: () => read,
    async stop() {
      await messages.close().catch(() => undefined);
      await done;
    },
  };
}
