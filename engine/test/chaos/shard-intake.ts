/**
 * Assessments created as the platform creates them in a cluster: a msgpack
 * `IntakeRequest` on the intake subject of the assessment's virtual shard
 * (`<namespace>.engine.shard.<v>.intake`), which only the shard's owner
 * serves. No responder, `NOT_OWNER` or no answer in time mean the shard is
 * between owners: the request is made again until it is answered.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { NatsConnection } from '@nats-io/transport-node';
import { shardSubjects } from '../../../transport/nats/index.js';
import { shardOf } from '../../index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** One assessment to create. */
export interface CreateRequest {
  readonly assessmentId: string;
  readonly traderId: string;
  readonly tierId: string;
}

/**
 * Create every assessment (an existing one counts as created), `concurrency`
 * requests in flight; resolves when all are. Throws after `timeoutMs` or on a
 * refusal other than a transient one.
 */
export async function createAssessments(
  nc: NatsConnection,
  namespace: string,
  list: readonly CreateRequest[],
  o: { concurrency?: number; timeoutMs?: number } = {},
): Promise<void> {
  const enc = new Encoder({ ignoreUndefined: true });
  const dec = new Decoder();
  const end = Date.now() + (o.timeoutMs ?? 600_000);
  let next = 0;
  const one = async (r: CreateRequest): Promise<void> => {
    const subject = shardSubjects(shardOf(r.assessmentId), namespace).intake;
    const body = enc.encode({ kind: 'create', ...r });
    for (let tries = 0; ; tries++) {
      if (Date.now() > end) throw new Error(`could not create ${r.assessmentId} in time`);
      const a = await nc.request(subject, body, { timeout: 5_000 }).then(
        (m) => dec.decode(m.data) as { ok: boolean; code?: string; message?: string },
        () => undefined,
      );
      if (a !== undefined && (a.ok || a.code === 'DUPLICATE_ASSESSMENT')) return;
      if (a !== undefined && !['NOT_OWNER', 'NOT_READY', 'STOPPING', 'JOURNAL_UNAVAILABLE'].includes(a.code ?? ''))
        throw new Error(`create ${r.assessmentId} refused: ${a.code} ${a.message ?? ''}`);
      await sleep(Math.min(1_000, 50 * 2 ** Math.min(tries, 4)));
    }
  };
  await Promise.all(
    Array.from({ length: Math.min(o.concurrency ?? 64, list.length) }, async () => {
      while (next < list.length) await one(list[next++]!);
    }),
  );
}
