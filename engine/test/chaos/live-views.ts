/**
 * The nodes' live states, for the replay to judge: every engine node answers
 * the group's inspect subject (`engine.<group>.inspect`) with its marks (last
 * market seq, last journal position applied) and the digest of every
 * assessment it serves, all at one input boundary. One request collects the
 * answers of every node. Each answer becomes one claim per shard it holds
 * assessments of; the journal position is the node's highest applied, which
 * is a valid cut for each of its shards (a node writes one batch at a time,
 * so everything of its shards at or below it is applied, nothing above).
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import type { NatsConnection } from '@nats-io/transport-node';
import type { InspectReply } from '../../../transport/nats/intake-service.js';
import { shardOf, stateDigest } from '../../index.js';
import type { ClusterJournalRecord, StateClaim } from './replay-verifier.js';

/** The answers of up to `nodes` nodes (fewer if some do not answer within `timeoutMs`). */
export async function inspectAll(nc: NatsConnection, subject: string, nodes: number, timeoutMs = 10_000): Promise<InspectReply[]> {
  const dec = new Decoder();
  const out: InspectReply[] = [];
  const replies = await nc.requestMany(subject, new Uint8Array(0), { strategy: 'count', maxMessages: nodes, maxWait: timeoutMs });
  for await (const m of replies) {
    const r = dec.decode(m.data) as InspectReply | { ok: false };
    if ('digests' in r) out.push(r);
  }
  return out;
}

/**
 * Claims of the answers, and the assessments created in `journal` that no
 * answer holds or that two answers hold (each a mismatch when the cluster is
 * settled: every assessment is served by exactly one node).
 */
export function liveClaims(replies: readonly InspectReply[], journal: readonly ClusterJournalRecord[]): { claims: StateClaim[]; missing: string[]; doubled: string[] } {
  const claims: StateClaim[] = [];
  const holders = new Map<string, number>();
  replies.forEach((r, k) => {
    const byShard = new Map<number, Map<string, string>>();
    for (const [a, d] of r.digests) {
      holders.set(a, (holders.get(a) ?? 0) + 1);
      let m = byShard.get(shardOf(a));
      if (m === undefined) byShard.set(shardOf(a), (m = new Map()));
      m.set(a, d);
    }
    for (const [shard, digests] of byShard) claims.push({ source: `live node ${k + 1}/${replies.length}`, shard, tickSeq: r.tickSeq, journalPos: r.journalPos, digests });
  });
  const created = new Set(journal.filter((j) => j.input.type === 'create').map((j) => j.input.assessmentId));
  return { claims, missing: [...created].filter((a) => !holders.has(a)), doubled: [...holders].filter(([, n]) => n > 1).map(([a]) => a) };
}

const stateSubject = (v: number, namespace: string): string => `${namespace === '' ? '' : `${namespace}.`}engine.shard.${v}.state`;

/**
 * How many nodes answer a state read on each shard's subject within
 * `waitMs` (the owner subscribes alone, with no queue group: two answers are
 * two nodes serving the shard). Shards answered by more than one.
 */
export async function doublyServed(nc: NatsConnection, namespace: string, probes: ReadonlyMap<number, string>, waitMs = 500): Promise<number[]> {
  const enc = new Encoder();
  const out: number[] = [];
  await Promise.all([...probes].map(async ([shard, assessmentId]) => {
    let n = 0;
    try {
      for await (const _ of await nc.requestMany(stateSubject(shard, namespace), enc.encode({ assessmentId }), { strategy: 'timer', maxWait: waitMs })) n++;
    } catch {
      // no responders: not served (counted elsewhere)
    }
    if (n > 1) out.push(shard);
  }));
  return out.sort((a, b) => a - b);
}

/**
 * Each assessment's live state as its owner answers it on the state subject,
 * as digests: claims at (`tickSeq`, every journal entry) once the cluster is
 * quiet (no ticks, no orders, every node at the market tail).
 */
export async function liveStateClaims(nc: NatsConnection, namespace: string, ids: readonly string[], tickSeq: number): Promise<{ claims: StateClaim[]; unanswered: string[] }> {
  const enc = new Encoder();
  const dec = new Decoder();
  const byShard = new Map<number, Map<string, string>>();
  const unanswered: string[] = [];
  for (const id of ids) {
    const shard = shardOf(id);
    const r = await nc.request(stateSubject(shard, namespace), enc.encode({ assessmentId: id }), { timeout: 5_000 })
      .then((m) => dec.decode(m.data) as { ok: boolean; state?: unknown }, () => undefined);
    if (r === undefined || !r.ok || r.state === null || r.state === undefined) {
      unanswered.push(id);
      continue;
    }
    let m = byShard.get(shard);
    if (m === undefined) byShard.set(shard, (m = new Map()));
    m.set(id, stateDigest(r.state));
  }
  const claims = [...byShard].map(([shard, digests]) => ({ source: 'live owner (state subject)', shard, tickSeq, journalPos: Number.MAX_SAFE_INTEGER, digests }));
  return { claims, unanswered };
}
