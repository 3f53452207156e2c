/**
 * The cluster test's judge: a from-scratch, single-process replay of the
 * logs (the market stream and every shard's journal, merged in node-mode
 * coordinates: a market input at its seq, a journal entry right after the
 * market input its watermark names, entries of one watermark in position
 * order), checked against what the nodes claim.
 *
 * A claim says "these assessments of shard v had these states after market
 * seq T and the shard's journal entries up to position P" (a node's live
 * view of a shard it serves, or a checkpoint row in Postgres). The replay
 * snapshots each claim at exactly its cut: within one watermark, entries of
 * different assessments are independent, so the replay takes its snapshot
 * just before the first entry of the claim's shard past P, whatever other
 * shards' entries are still to come at that watermark.
 *
 * Nothing here depends on which node wrote what: the same replay judges one
 * process or a cluster of any size.
 */
import { Decoder } from '@msgpack/msgpack';
import { DeliverPolicy, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import type postgres from 'postgres';
import { DEFAULT_INSTRUMENTS, presetTiers } from '../../../actors/index.js';
import { decodeJson } from '../../../persistence/index.js';
import {
  Engine,
  mergeSequenced,
  shardOf,
  stateDigest,
  type EngineInput,
  type JournalInput,
  type MarketInput,
  type OutputEvent,
} from '../../index.js';

/** A journal row of any shard, as stored. */
export interface ClusterJournalRecord {
  readonly position: number;
  readonly group: string;
  readonly shard: number;
  readonly input: JournalInput;
  readonly clientOrderId: string | null;
  readonly tickWatermark: number;
}

/** What a node (or a checkpoint) says about one shard at one cut. */
export interface StateClaim {
  /** Who claims it, for the report (`n2 live`, `checkpoint v0042`). */
  readonly source: string;
  readonly shard: number;
  /** Last market seq applied. */
  readonly tickSeq: number;
  /** Last journal position of this shard applied. */
  readonly journalPos: number;
  /** Assessment id → sha-256 of its canonical state. */
  readonly digests: ReadonlyMap<string, string>;
  /** The claim names every assessment of the shard (a live view), so one missing or extra is a mismatch too. @default false */
  readonly complete?: boolean;
}

/** One disagreement. */
export interface Mismatch {
  readonly source: string;
  readonly assessmentId: string;
  readonly why: 'state differs' | 'missing on the node' | 'not in the replay';
}

/** Outcome of {@link replayAndCompare}. */
export interface ReplayVerdict {
  readonly claims: number;
  readonly statesCompared: number;
  readonly mismatches: Mismatch[];
  /** Every event of the replay, when asked for. */
  readonly events: OutputEvent[];
  /** Inputs replayed. */
  readonly inputs: number;
  readonly ms: number;
}

/** Every journal row after `after`, in position order, with its shard. */
export async function readJournal(sql: postgres.Sql, after = 0): Promise<ClusterJournalRecord[]> {
  const out: ClusterJournalRecord[] = [];
  let from = after;
  for (;;) {
    const rows = await sql<
      { position: string; group_id: string; command: string; client_order_id: string | null; tick_watermark: string }[]
    >`
      select position, group_id, command::text as command, client_order_id, tick_watermark
        from journal where position > ${String(from)}::bigint order by position limit 10000`;
    for (const r of rows) {
      const input = decodeJson<JournalInput>(r.command);
      out.push({
        position: Number(r.position),
        group: r.group_id,
        shard: shardOf(input.assessmentId),
        input,
        clientOrderId: r.client_order_id,
        tickWatermark: Number(r.tick_watermark),
      });
    }
    if (rows.length < 10000) return out;
    from = Number(rows.at(-1)!.position);
  }
}

/** Every checkpointed assessment state as a claim of its own (rows of one shard's checkpoint share a cut). */
export async function readCheckpointClaims(sql: postgres.Sql): Promise<StateClaim[]> {
  const rows = await sql<{ assessment_id: string; group_id: string; tick_seq: string; journal_pos: string; state: string }[]>`
    select assessment_id, group_id, tick_seq, journal_pos, state from snapshots`;
  return rows.map((r) => ({
    source: `checkpoint ${r.group_id}`,
    shard: shardOf(r.assessment_id),
    tickSeq: Number(r.tick_seq),
    journalPos: Number(r.journal_pos),
    digests: new Map([[r.assessment_id, stateDigest(decodeJson(r.state))]]),
  }));
}

/**
 * Merge in node-mode coordinates with the engine's `mergeSequenced`. Its
 * journal must be in watermark order: entries of different nodes interleave
 * in position while their watermarks need not, so they are sorted by
 * (watermark, position) first. Each journal input keeps its record.
 */
export function mergeCoordinates(
  market: readonly MarketInput[],
  journal: readonly ClusterJournalRecord[],
): Array<{ input: EngineInput; at: number; entry?: ClusterJournalRecord }> {
  const sorted = [...journal].sort((a, b) => a.tickWatermark - b.tickWatermark || a.position - b.position);
  let j = 0;
  return mergeSequenced(market, sorted).map((x) => (MARKET_TYPES.has(x.input.type) ? x : { ...x, entry: sorted[j++]! }));
}

const MARKET_TYPES = new Set(['tick', 'resolution', 'clock']);

/**
 * Replay `market` (ascending seq) and `journal` in one Engine and compare
 * every claim at its cut. Claims past the end of the given market are
 * compared at the end. With `collectEvents`, every event is returned.
 */
export async function replayAndCompare(
  market: readonly MarketInput[],
  journal: readonly ClusterJournalRecord[],
  claims: readonly StateClaim[],
  options: { collectEvents?: boolean } = {},
): Promise<ReplayVerdict> {
  const t0 = performance.now();
  const events: OutputEvent[] = [];
  const engine = await Engine.start({
    workers: 1,
    tiers: presetTiers(),
    instruments: DEFAULT_INSTRUMENTS,
    flushIntervalMs: 0,
    output: {
      onEvents: (e) => {
        if (options.collectEvents === true) for (const x of e) events.push(x);
      },
    },
  });
  const submit = (input: EngineInput, at: number): void => void engine.submit(input, at);
  const merged = mergeCoordinates(market, journal);
  const pending = new Map<number, StateClaim[]>(); // by tick seq, each list sorted by journal position
  for (const c of claims) {
    const at = Math.min(c.tickSeq, market.at(-1)?.seq ?? 0);
    let list = pending.get(at);
    if (list === undefined) pending.set(at, (list = []));
    list.push(c);
  }
  for (const list of pending.values()) list.sort((a, b) => a.journalPos - b.journalPos);
  const mismatches: Mismatch[] = [];
  let compared = 0;
  const byShard = (list: readonly StateClaim[]) => {
    const m = new Map<number, StateClaim[]>();
    for (const c of list) m.set(c.shard, [...(m.get(c.shard) ?? []), c]);
    return m;
  };
  const judge = async (due: readonly StateClaim[]): Promise<void> => {
    if (due.length === 0) return;
    const snap = await engine.snapshot();
    const states = new Map(snap.kernel.actors.map((a) => [a.state.id, a.state]));
    for (const c of due) {
      for (const [id, digest] of c.digests) {
        const s = states.get(id);
        if (s === undefined) mismatches.push({ source: c.source, assessmentId: id, why: 'not in the replay' });
        else {
          compared++;
          if (stateDigest(s) !== digest) mismatches.push({ source: c.source, assessmentId: id, why: 'state differs' });
        }
      }
      if (c.complete === true) {
        for (const id of states.keys())
          if (shardOf(id) === c.shard && !c.digests.has(id))
            mismatches.push({ source: c.source, assessmentId: id, why: 'missing on the node' });
      }
    }
  };

  // Walk the merged inputs one coordinate at a time; at a coordinate with claims, snapshot each claim at its cut.
  let i = 0;
  const coordinates = [...new Set([...merged.map((x) => x.at), ...pending.keys()])].sort((a, b) => a - b);
  for (const at of coordinates) {
    const here: Array<{ input: EngineInput; at: number; entry?: ClusterJournalRecord }> = [];
    while (i < merged.length && merged[i]!.at === at) here.push(merged[i++]!);
    const due = pending.get(at);
    if (due === undefined) {
      for (const x of here) submit(x.input, x.at);
      continue;
    }
    const waiting = byShard(due); // shard → claims, ascending journal position
    const left = new Map<number, number[]>(); // shard → positions still to feed here, ascending
    for (const x of here) {
      if (x.entry === undefined) continue;
      const l = left.get(x.entry.shard);
      if (l === undefined) left.set(x.entry.shard, [x.entry.position]);
      else l.push(x.entry.position);
    }
    for (const x of here) {
      const e = x.entry;
      const blocked = e === undefined ? undefined : waiting.get(e.shard);
      if (e !== undefined && blocked !== undefined && blocked[0]!.journalPos < e.position) {
        // Snapshot now for every claim already whole: its shard has nothing left here at or below its cut.
        const ready: StateClaim[] = [];
        for (const [shard, list] of waiting) {
          const next = left.get(shard)?.[0] ?? Infinity;
          while (list.length > 0 && list[0]!.journalPos < next) ready.push(list.shift()!);
          if (list.length === 0) waiting.delete(shard);
        }
        await judge(ready);
      }
      if (e !== undefined) left.get(e.shard)!.shift();
      submit(x.input, x.at);
    }
    await judge([...waiting.values()].flat());
  }
  await engine.barrier();
  await engine.stop();
  return { claims: claims.length, statesCompared: compared, mismatches, events, inputs: merged.length, ms: performance.now() - t0 };
}

/** An acknowledged order: where the gateway said it was journaled. */
export interface AckedOrder {
  readonly assessmentId: string;
  readonly clientOrderId: string;
  readonly position: number;
}

/**
 * Acknowledged orders not in the journal at their position, or (with `applied`:
 * shard → last journal position a final view or checkpoint reflects) not yet
 * reflected there.
 */
export function lostOrders(
  acked: Iterable<AckedOrder>,
  journal: readonly ClusterJournalRecord[],
  applied?: ReadonlyMap<number, number>,
): AckedOrder[] {
  const at = new Map(journal.map((j) => [j.position, j]));
  const lost: AckedOrder[] = [];
  for (const a of acked) {
    const j = at.get(a.position);
    const shardPos = applied?.get(shardOf(a.assessmentId));
    if (
      j === undefined ||
      j.input.assessmentId !== a.assessmentId ||
      j.clientOrderId !== a.clientOrderId ||
      (applied !== undefined && (shardPos === undefined || shardPos < a.position))
    )
      lost.push(a);
  }
  return lost;
}

/** Orders said to be journaled already (a duplicate's answer) that the journal does not hold. */
export function missingDuplicates(
  said: Iterable<{ assessmentId: string; clientOrderId: string }>,
  journal: readonly ClusterJournalRecord[],
): Array<{ assessmentId: string; clientOrderId: string }> {
  const held = new Set(journal.map((j) => `${j.input.assessmentId}\u0000${j.clientOrderId}`));
  return [...said].filter((d) => !held.has(`${d.assessmentId}\u0000${d.clientOrderId}`));
}

/** A fill's identity: its assessment, order and what was left after it (a partial fill leaves less each time). */
export function fillKey(e: { assessmentId: string; orderId?: unknown; remaining?: unknown }): string {
  return `${e.assessmentId}/${String(e.orderId)}/${String(e.remaining)}`;
}

/** Fills on an event stream by {@link fillKey}, with how many times each was published. */
export async function readPublishedFills(js: JetStreamClient, jsm: JetStreamManager, stream: string): Promise<Map<string, number>> {
  const published = new Map<string, number>();
  const last = (await jsm.streams.info(stream).catch(() => undefined))?.state.last_seq ?? 0;
  if (last === 0) return published;
  const dec = new Decoder();
  const consumer = await js.consumers.get(stream, { deliver_policy: DeliverPolicy.All });
  const msgs = await consumer.consume();
  for await (const m of msgs) {
    const e = dec.decode(m.data) as OutputEvent;
    if (e.type === 'order.filled') published.set(fillKey(e as never), (published.get(fillKey(e as never)) ?? 0) + 1);
    if (m.seq >= last) break;
  }
  await msgs.close();
  return published;
}

/** Fills published more than once, published but not in the replay, and in the replay but not published. */
export function compareFills(
  replayed: readonly OutputEvent[],
  published: ReadonlyMap<string, number>,
): { duplicated: number; phantom: number; missing: number; total: number } {
  const expected = new Set(replayed.filter((e) => e.type === 'order.filled').map((e) => fillKey(e as never)));
  let duplicated = 0;
  let phantom = 0;
  for (const [k, n] of published) {
    if (n > 1) duplicated += n - 1;
    if (!expected.has(k)) phantom++;
  }
  let missing = 0;
  for (const k of expected) if (!published.has(k)) missing++;
  return { duplicated, phantom, missing, total: expected.size };
}
