/**
 * The command journal in Postgres: commands in arrival order, a client order
 * id accepted at most once per assessment.
 */
import type postgres from 'postgres';
import type { Command } from '../../actors/index.js';
import { mapPgError } from './errors.js';
import { decodeJson, encodeJson } from './json-codec.js';

/** A command to append. */
export interface JournalEntry<C = Command> {
  readonly assessmentId: string;
  readonly command: C;
  /** The command's client order id; null/undefined for commands without one (never deduplicated). */
  readonly clientOrderId?: string | null;
  /** Last tick sequence the engine had seen when the command arrived. */
  readonly tickWatermark: number;
}

/** A stored journal entry. */
export interface JournalRecord<C = Command> {
  readonly position: number;
  readonly assessmentId: string;
  readonly command: C;
  readonly clientOrderId: string | null;
  readonly tickWatermark: number;
  readonly receivedAt: Date;
}

/** Outcome of {@link PgJournal.append}. */
export type AppendResult =
  | { readonly ok: true; readonly position: number }
  | { readonly ok: false; readonly reason: 'DUPLICATE_CLIENT_ORDER_ID'; readonly assessmentId: string; readonly clientOrderId: string };

const UNIQUE_CONSTRAINT = 'journal_assessment_client_order_key';

/** Command journal over a porsager/postgres client (not owned: the caller ends it). */
export class PgJournal<C = Command> {
  readonly #sql: postgres.Sql;

  /** @param sql a porsager/postgres client connected to a migrated database */
  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  /**
   * Append one command. A second command with the same (assessment, client
   * order id) is refused with `{ ok: false, reason: 'DUPLICATE_CLIENT_ORDER_ID' }`
   * rather than an error. Rejects with {@link PgUnavailableError} when the database is gone.
   */
  async append(entry: JournalEntry<C>): Promise<AppendResult> {
    if (!Number.isSafeInteger(entry.tickWatermark)) throw new RangeError(`tickWatermark must be a safe integer, got ${entry.tickWatermark}`);
    const clientOrderId = entry.clientOrderId ?? null;
    try {
      const [row] = await this.#sql<{ position: string }[]>`
        insert into journal (assessment_id, command, client_order_id, tick_watermark)
        values (${entry.assessmentId}, ${encodeJson(entry.command)}::text::jsonb, ${clientOrderId}, ${String(entry.tickWatermark)}::bigint)
        returning position`;
      return { ok: true, position: Number(row!.position) };
    } catch (err) {
      const e = err as { code?: string; constraint_name?: string };
      if (e.code === '23505' && e.constraint_name === UNIQUE_CONSTRAINT && clientOrderId !== null) {
        return { ok: false, reason: 'DUPLICATE_CLIENT_ORDER_ID', assessmentId: entry.assessmentId, clientOrderId };
      }
      throw mapPgError(err);
    }
  }

  /** An assessment's entries after `afterPosition`, in order. */
  async read(assessmentId: string, afterPosition = 0): Promise<JournalRecord<C>[]> {
    try {
      const rows = await this.#sql<{ position: string; assessment_id: string; command: string; client_order_id: string | null; tick_watermark: string; received_at: Date }[]>`
        select position, assessment_id, command::text as command, client_order_id, tick_watermark, received_at
          from journal where assessment_id = ${assessmentId} and position > ${String(afterPosition)}::bigint
         order by position`;
      return rows.map((r) => ({
        position: Number(r.position), assessmentId: r.assessment_id, command: decodeJson<C>(r.command),
        clientOrderId: r.client_order_id, tickWatermark: Number(r.tick_watermark), receivedAt: r.received_at,
      }));
    } catch (err) {
      throw mapPgError(err);
    }
  }
}
