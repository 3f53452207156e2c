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
    // A batch's entries share one watermark as a rule: it is sent once, and only a differing one per entry.
    const w0 = entries[0]!.tickWatermark;
    const doc = new Array<{ a: string; c: JournalInput; k: string | null; w?: number }>(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      if (!Number.isSafeInteger(e.tickWatermark) || e.tickWatermark < 0)
        throw new RangeError(`tickWatermark must be a non-negative safe integer, got ${e.tickWatermark}`);
      doc[i] =
        e.tickWatermark === w0
          ? { a: e.input.assessmentId, c: e.input, k: e.clientOrderId }
          : { a: e.input.assessmentId, c: e.input, k: e.clientOrderId, w: e.tickWatermark };
    }
    let answer: { owned: boolean; inserted: string | null } | undefined;
    try {
      // One row back, the inserted entries as one JSON text: a row per entry cost the client a parse each.
      [answer] = await this.#sql<{ owned: boolean; inserted: string | null }[]>`
        with owner as (select 1 from shard_owners where group_id = ${this.#group} and epoch = ${String(epoch)}::bigint),
        ins as (
          insert into journal (group_id, assessment_id, command, client_order_id, tick_watermark)
          select ${this.#group}, u.a, u.c, u.k, coalesce(u.w, ${String(w0)}::bigint)
            from rows from (jsonb_to_recordset(${encodeJson(doc)}::text::jsonb) as (a text, c jsonb, k text, w bigint)) with ordinality as u(a, c, k, w, ord)
           where exists (select 1 from owner)
           order by u.ord
          on conflict (assessment_id, client_order_id) do nothing
          returning position, assessment_id, client_order_id)
        select exists (select 1 from owner) as owned,
               (select json_agg(json_build_array(position::text, assessment_id, client_order_id) order by position)::text from ins) as inserted`;
    } catch (err) {
      if (sentThenLost(err)) throw new JournalOutcomeUnknownError(String((err as Error).message ?? err), { cause: err });
      throw mapPgError(err);
    }
    if (answer?.owned !== true) throw new FencedError(this.#group, epoch);
    // The inserted entries in position order, which is batch order: walked beside the batch, each entry is
    // the next inserted one or was not inserted (a duplicate: a later entry never holds its key).
    const inserted = answer.inserted === null ? [] : (JSON.parse(answer.inserted) as [string, string, string | null][]);
    const results = new Array<JournalAppendResult>(entries.length);
    const duplicates: number[] = [];
    let r = 0;
    for (let i = 0; i < entries.length; i++) {
      const e = entries[i]!;
      const next = inserted[r];
      if (next !== undefined && next[1] === e.input.assessmentId && next[2] === e.clientOrderId) {
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
