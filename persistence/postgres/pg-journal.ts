/**
 * The command journal of a shard group in Postgres: creates and commands in
 * the order the engine applies them, each with the market seq it is applied
 * after. One statement per batch (group commit), fenced by the owner epoch;
 * a client order id is accepted at most once per assessment.
 */
import type postgres from 'postgres';
import {
  FencedError,
  JournalOutcomeUnknownError,
  type Journal,
  type JournalAppend,
  type JournalAppendResult,
  type JournalInput,
  type JournalRecord,
} from '../../engine/index.js';
import { mapPgError, sentThenLost } from './errors.js';
import { decodeJson, encodeJson } from '../../engine/index.js';

/** Options of {@link PgJournal}. */
export interface PgJournalOptions {
  /** Shard group whose journal this is. @default 'default' */
  readonly group?: string;
  /** Entries per page when reading back. @default 10_000 */
  readonly pageSize?: number;
}

interface Inserted {
  position: string;
  assessment_id: string | null;
  client_order_id: string | null;
}

/** Journal over a porsager/postgres client (not owned: the caller ends it). */
export class PgJournal implements Journal {
  readonly #sql: postgres.Sql;
  readonly #group: string;
  readonly #pageSize: number;

  /** @param sql a client connected to a migrated database */
  constructor(sql: postgres.Sql, options: PgJournalOptions = {}) {
    this.#sql = sql;
    this.#group = options.group ?? 'default';
    this.#pageSize = options.pageSize ?? 10_000;
  }

  /**
   * Append in order in one statement, only while `epoch` owns the group.
   * Entries whose (assessment, client order id) is already journaled, or
   * repeated within the batch, come back as duplicates with the position
   * that holds it. Rejects with `FencedError` when another owner holds the
   * group, `PgUnavailableError` when the database cannot be reached.
   */
  async appendBatch(entries: readonly JournalAppend[], epoch: number): Promise<JournalAppendResult[]> {
    if (entries.length === 0) return [];
    // One JSON document per batch: the client's array serializer (escaping each
    // command's JSON inside an array literal) cost more than the whole insert.
    const doc: Array<{ a: string; c: JournalInput; k: string | null; w: number }> = [];
    for (const e of entries) {
      if (!Number.isSafeInteger(e.tickWatermark) || e.tickWatermark < 0)
        throw new RangeError(`tickWatermark must be a non-negative safe integer, got ${e.tickWatermark}`);
      doc.push({ a: e.input.assessmentId, c: e.input, k: e.clientOrderId, w: e.tickWatermark });
    }
    let rows: Inserted[];
    try {
      rows = await this.#sql<Inserted[]>`
        with owner as (select 1 from shard_owners where group_id = ${this.#group} and epoch = ${String(epoch)}::bigint),
        ins as (
          insert into journal (group_id, assessment_id, command, client_order_id, tick_watermark)
          select ${this.#group}, u.a, u.c, u.k, u.w
            from rows from (jsonb_to_recordset(${encodeJson(doc)}::text::jsonb) as (a text, c jsonb, k text, w bigint)) with ordinality as u(a, c, k, w, ord)
           where exists (select 1 from owner)
           order by u.ord
          on conflict (assessment_id, client_order_id) do nothing
          returning position, assessment_id, client_order_id)
        select position, assessment_id, client_order_id from ins
        union all
        select '-1', null, null from owner`;
    } catch (err) {
      if (sentThenLost(err)) throw new JournalOutcomeUnknownError(String((err as Error).message ?? err), { cause: err });
      throw mapPgError(err);
    }
    if (!rows.some((r) => r.position === '-1')) throw new FencedError(this.#group, epoch);
    const inserted = rows
      .filter((r) => r.position !== '-1')
      .map((r) => ({ ...r, pos: Number(r.position) }))
      .sort((a, b) => a.pos - b.pos);
    // Rows come back in insertion (= position) order; keyed entries match by key, the others in turn.
    const byKey = new Map<string, number>();
    const unkeyed: number[] = [];
    for (const r of inserted) {
      if (r.client_order_id === null) unkeyed.push(r.pos);
      else byKey.set(`${r.assessment_id}\u0000${r.client_order_id}`, r.pos);
    }
    const results: JournalAppendResult[] = [];
    const duplicates: number[] = [];
    let u = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (e.clientOrderId === null) {
        results.push({ ok: true, position: unkeyed[u++]! });
        continue;
      }
      const key = `${e.input.assessmentId}\u0000${e.clientOrderId}`;
      const pos = byKey.get(key);
      if (pos !== undefined) {
        byKey.delete(key); // a second entry with this key in the batch is the duplicate
        results.push({ ok: true, position: pos });
      } else {
        results.push({ ok: false, reason: 'DUPLICATE_CLIENT_ORDER_ID', position: undefined });
        duplicates.push(i);
      }
    }
    if (duplicates.length > 0) await this.#fillDuplicatePositions(entries, duplicates, results);
    return results;
  }

  /** Entries after `position`, page by page, in position order. */
  async *readAfter(position: number): AsyncIterable<readonly JournalRecord[]> {
    let after = position;
    for (;;) {
      let rows: { position: string; command: string; client_order_id: string | null; tick_watermark: string }[];
      try {
        rows = await this.#sql`
          select position, command::text as command, client_order_id, tick_watermark
            from journal where group_id = ${this.#group} and position > ${String(after)}::bigint
           order by position limit ${this.#pageSize}`;
      } catch (err) {
        throw mapPgError(err);
      }
      if (rows.length === 0) return;
      yield rows.map((r) => ({
        position: Number(r.position),
        input: decodeJson<JournalInput>(r.command),
        clientOrderId: r.client_order_id,
        tickWatermark: Number(r.tick_watermark),
      }));
      after = Number(rows[rows.length - 1]!.position);
      if (rows.length < this.#pageSize) return;
    }
  }

  async #fillDuplicatePositions(
    entries: readonly JournalAppend[],
    indices: readonly number[],
    results: JournalAppendResult[],
  ): Promise<void> {
    const ids = indices.map((i) => entries[i]!.input.assessmentId);
    const keys = indices.map((i) => entries[i]!.clientOrderId!);
    try {
      const held = await this.#sql<{ position: string; assessment_id: string; client_order_id: string }[]>`
        select j.position, j.assessment_id, j.client_order_id from journal j
          join unnest(${ids}::text[], ${keys}::text[]) as u(a, k) on j.assessment_id = u.a and j.client_order_id = u.k`;
      const at = new Map(held.map((h) => [`${h.assessment_id}\u0000${h.client_order_id}`, Number(h.position)]));
      for (let n = 0; n < indices.length; n++) {
        results[indices[n]!] = { ok: false, reason: 'DUPLICATE_CLIENT_ORDER_ID', position: at.get(`${ids[n]}\u0000${keys[n]}`) };
      }
    } catch {
      // The positions are a courtesy to the caller; the refusal stands without them.
    }
  }
}
