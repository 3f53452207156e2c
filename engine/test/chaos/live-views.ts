/**
 * The nodes' live view, over the routing plane (`engine.shard.<v>.state`,
 * answered only by the node serving shard v): how many nodes answer for a
 * shard (two answers are two owners), and, once the cluster is quiet, every
 * assessment's live state as its owner holds it, for the replay to judge.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { NatsConnection } from '@nats-io/transport-node';
import { shardSubjects } from '../../../transport/nats/index.js';
import { shardOf, stateDigest } from '../../index.js';
import type { StateClaim } from './replay-verifier.js';

/**
 * How many nodes answer a state read on each shard's subject within
 * `waitMs` (the owner subscribes alone, with no queue group: two answers are
 * two nodes serving the shard). Shards answered by more than one.
 */
export async function doublyServed(
  nc: NatsConnection,
  namespace: string,
  probes: ReadonlyMap<number, string>,
  waitMs = 500,
): Promise<number[]> {
  const enc = new Encoder();
  const out: number[] = [];
  await Promise.all(
    [...probes].map(async ([shard, assessmentId]) => {
      let n = 0;
      try {
        for await (const _ of await nc.requestMany(shardSubjects(shard, namespace).state, enc.encode({ assessmentId }), {
          strategy: 'timer',
          maxWait: waitMs,
        }))
          n++;
      } catch {
        // no responders: not served (counted elsewhere)
      }
      if (n > 1) out.push(shard);
    }),
  );
  return out.sort((a, b) => a - b);
}

/**
 * Each assessment's live state as its owner answers it on the state subject,
 * as digests: claims at (`tickSeq`, every journal entry) once the cluster is
 * quiet (no ticks, no orders, every node at the market tail).
 */
export async function liveStateClaims(
  nc: NatsConnection,
  namespace: string,
  ids: readonly string[],
  tickSeq: number,
): Promise<{ claims: StateClaim[]; unanswered: string[] }> {
  const enc = new Encoder();
  const dec = new Decoder();
  const byShard = new Map<number, Map<string, string>>();
  const unanswered: string[] = [];
  for (const id of ids) {
    const shard = shardOf(id);
    const r = await nc.request(shardSubjects(shard, namespace).state, enc.encode({ assessmentId: id }), { timeout: 5_000 }).then(
      (m) => dec.decode(m.data) as { ok: boolean; state?: unknown },
      () => undefined,
    );
    if (r === undefined || !r.ok || r.state === null || r.state === undefined) {
      unanswered.push(id);
      continue;
    }
    let m = byShard.get(shard);
    if (m === undefined) byShard.set(shard, (m = new Map()));
    m.set(id, stateDigest(r.state));
  }
  const claims = [...byShard].map(([shard, digests]) => ({
    source: 'live owner (state subject)',
    shard,
    tickSeq,
    journalPos: Number.MAX_SAFE_INTEGER,
    digests,
  }));
  return { claims, unanswered };
}
