/**
 * The command journal partitioned by virtual shard: each entry's `group_id`
 * is the shard key of its assessment, and each is written only while that
 * shard is held at the epoch the entry carries. The check is in the insert
 * itself: the statement reads the owner rows FOR SHARE, so a claim (an update
 * of the row) waits for the batch to commit, and a batch that starts after
 * the claim sees the new epoch. A batch may mix shards: the entries of a
 * shard that moved are refused one by one, the rest is written.
 */
import { isDeepStrictEqual } from 'node:util';
import type postgres from 'postgres';
import {
  JournalOutcomeUnknownError,
  shardKey,
  type JournalInput,
  type JournalRecord,
  type ShardJournal,
  type ShardJournalAppend,
  type ShardJournalAppendResult,
} from '../../engine/index.js';
import { mapPgError, sentThenLost } from './errors.js';
import { decodeJson, encodeJson } from '../../engine/index.js';

/** Options of {@link PgShardJournal}. */
export interface PgShardJournalOptions {
  /** Entries per page when reading back. @default 10_000 */
  readonly pageSize?: number;
}

interface ReadRow {
  position: string;
  command: string;
  client_order_id: string | null;
  tick_watermark: string;
}

/** Per-shard journal over a porsager/postgres client (not owned: the caller ends it). */
export class PgShardJournal implements ShardJournal {
  readonly #sql: postgres.Sql;
  readonly #pageSize: number;
  /** Shard keys by shard, made once each (one per entry written otherwise). */
  readonly #keys: string[] = [];

  /** @param sql a client connected to a migrated database */
  constructor(sql: postgres.Sql, options: PgShardJournalOptions = {}) {
    this.#sql = sql;
    this.#pageSize = options.pageSize ?? 10_000;
  }

  async appendBatch(entries: readonly ShardJournalAppend[]): Promise<ShardJournalAppendResult[]> {
    if (entries.length === 0) return [];
    // One JSON document per batch, as PgJournal's; a batch's entries share one watermark as a rule: it is
    // sent once, and only a differing one per entry.
    const w0 = entries[0]!.tickWatermark;
    const doc = new Array<{ g: string; e: number; a: string; c: JournalInput; k: string | null; w?: number }>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const x = entries[i]!;
      if (!Number.isSafeInteger(x.tickWatermark) || x.tickWatermark < 0)
        throw new RangeError(`tickWatermark must be a non-negative safe integer, got ${x.tickWatermark}`);
      const g = (this.#keys[x.shard] ??= shardKey(x.shard));
      doc[i] =
        x.tickWatermark === w0
          ? { g, e: x.epoch, a: x.input.assessmentId, c: x.input, k: x.clientOrderId }
          : { g, e: x.epoch, a: x.input.assessmentId, c: x.input, k: x.clientOrderId, w: x.tickWatermark };
    }
    let answer: { held: string | null; inserted: string | null } | undefined;
    try {
      // One row back: the shards held and the inserted entries, each as one JSON text (a row per entry cost the client a parse each).
      [answer] = await this.#sql<{ held: string | null; inserted: string | null }[]>`
        with u as (
          select * from rows from (jsonb_to_recordset(${encodeJson(doc)}::text::jsonb) as (g text, e bigint, a text, c jsonb, k text, w bigint))
                 with ordinality as u(g, e, a, c, k, w, ord)),
        want as (select distinct g, e from u),
        held as (
          select o.group_id from shard_owners o join want on o.group_id = want.g and o.epoch = want.e
           where not o.released
           order by o.group_id for share of o),
        ins as (
          insert into journal (group_id, assessment_id, command, client_order_id, tick_watermark)
          select u.g, u.a, u.c, u.k, coalesce(u.w, ${String(w0)}::bigint) from u where u.g in (select group_id from held)
           order by u.ord
          on conflict (assessment_id, client_order_id) do nothing
          returning position, assessment_id, client_order_id)
        select (select json_agg(group_id)::text from held) as held,
               (select json_agg(json_build_array(position::text, assessment_id, client_order_id) order by position)::text from ins) as inserted`;
    } catch (err) {
      if (sentThenLost(err)) throw new JournalOutcomeUnknownError(String((err as Error).message ?? err), { cause: err });
      throw mapPgError(err);
    }
    const held = new Set<string>(answer?.held == null ? [] : (JSON.parse(answer.held) as string[]));
    // The inserted entries in position order, which is batch order: walked beside the batch, each held entry
    // is the next inserted one or was not inserted (a duplicate: a later entry never holds its key).
    const inserted = answer?.inserted == null ? [] : (JSON.parse(answer.inserted) as [string, string, string | null][]);
    const results = new Array<ShardJournalAppendResult>(entries.length);
    const duplicates: number[] = [];
    let r = 0;
    for (let i = 0; i < entries.length; i++) {
      const x = entries[i]!;
      if (!held.has(doc[i]!.g)) {
        results[i] = { ok: false, reason: 'FENCED' };
        continue;
      }
      const next = inserted[r];
      if (next !== undefined && next[1] === x.input.assessmentId && next[2] === x.clientOrderId) {
        results[i] = { ok: true, position: Number(next[0]) };
        r++;
      } else {
        results[i] = { ok: false, reason: 'DUPLICATE_CLIENT_ORDER_ID', position: undefined };
        duplicates.push(i);
      }
    }
    if (duplicates.length > 0) await this.#fillDuplicatePositions(entries, duplicates, results);
    return results;
  }

  async *readShards(after: ReadonlyMap<number, number>): AsyncIterable<readonly JournalRecord[]> {
    if (after.size === 0) return;
    const keys = [...after.keys()].map(shardKey);
    const from = [...after.values()].map(String);
    let cursor = Math.min(...after.values());
    for (;;) {
      let rows: ReadRow[];
      try {
        // One index range scan per shard (journal_group_pos_idx): other shards' rows are never read.
        rows = await this.#sql<ReadRow[]>`
          select j.position, j.command::text as command, j.client_order_id, j.tick_watermark
            from unnest(${keys}::text[], ${from}::bigint[]) as a(g, p)
            cross join lateral (
              select position, command, client_order_id, tick_watermark from journal
               where group_id = a.g and position > greatest(a.p, ${String(cursor)}::bigint)) j
           order by j.position limit ${this.#pageSize}`;
      } catch (err) {
        throw mapPgError(err);
      }
      if (rows.length === 0) return;
      yield rows.map(decodeRow);
      cursor = Number(rows[rows.length - 1]!.position);
      if (rows.length < this.#pageSize) return;
    }
  }

  /** Every shard's entries after `position`, in position order, page by page (for audits and replays). */
  async *readAll(position = 0): AsyncIterable<readonly JournalRecord[]> {
    let after = position;
    for (;;) {
      let rows: ReadRow[];
      try {
        rows = await this.#sql<ReadRow[]>`
          select position, command::text as command, client_order_id, tick_watermark from journal
           where position > ${String(after)}::bigint and group_id ~ '^v[0-9]{4}$'
           order by position limit ${this.#pageSize}`;
      } catch (err) {
        throw mapPgError(err);
      }
      if (rows.length === 0) return;
      yield rows.map(decodeRow);
      after = Number(rows[rows.length - 1]!.position);
      if (rows.length < this.#pageSize) return;
    }
  }

  async #fillDuplicatePositions(
    entries: readonly ShardJournalAppend[],
    indices: readonly number[],
    results: ShardJournalAppendResult[],
  ): Promise<void> {
    const ids = indices.map((i) => entries[i]!.input.assessmentId);
    const keys = indices.map((i) => entries[i]!.clientOrderId!);
    try {
      const held = await this.#sql<
        { position: string; assessment_id: string; client_order_id: string; command: string; tick_watermark: string }[]
      >`
        select j.position, j.assessment_id, j.client_order_id, j.command::text as command, j.tick_watermark from journal j
          join unnest(${ids}::text[], ${keys}::text[]) as u(a, k) on j.assessment_id = u.a and j.client_order_id = u.k`;
      const at = new Map(held.map((h) => [`${h.assessment_id}\u0000${h.client_order_id}`, h]));
      for (let n = 0; n < indices.length; n++) {
        const h = at.get(`${ids[n]}\u0000${keys[n]}`);
        if (h === undefined) continue;
        // The same input resent (its answer was lost with a gateway, or came after the router's deadline):
        // the caller answers it with the original acceptance. Compared as JSON values, as jsonb keeps them.
        const same = isDeepStrictEqual(decodeJson<unknown>(h.command), JSON.parse(JSON.stringify(entries[indices[n]!]!.input)));
        results[indices[n]!] = {
          ok: false,
          reason: 'DUPLICATE_CLIENT_ORDER_ID',
          position: Number(h.position),
          ...(same ? { repeat: { tickWatermark: Number(h.tick_watermark) } } : {}),
        };
      }
    } catch {
      // The positions are a courtesy to the caller; the refusal stands without them.
    }
  }
}

function decodeRow(r: ReadRow): JournalRecord {
  return {
    position: Number(r.position),
    input: decodeJson<JournalInput>(r.command),
    clientOrderId: r.client_order_id,
    tickWatermark: Number(r.tick_watermark),
  };
}
