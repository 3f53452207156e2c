/**
 * Assessment reports in Postgres (0001's `reports` table, extended by 0006):
 * each generated report kept with its body (JSON, tagged non-finite numbers),
 * what triggered it and whose assessment it is. Listings carry no body.
 */
import type postgres from 'postgres';
import { decodeJson, encodeJson } from '../../engine/index.js';
import { mapPgError } from '../postgres/errors.js';

/** What a report is: the final one (a verdict), a phase's (phase passed) or one asked for. */
export type ReportKind = 'final' | 'phase' | 'request';

/** A stored report without its body. */
export interface ReportHeader {
  readonly id: number;
  readonly assessmentId: string;
  readonly traderId: string | null;
  readonly kind: ReportKind;
  /** The event type that triggered it, or `request`. */
  readonly trigger: string;
  /** The assessment's status when it was made. */
  readonly status: string | null;
  /** Wall-clock time it was stored, epoch ms. */
  readonly createdAt: number;
}

export interface StoredReport<B = unknown> extends ReportHeader {
  readonly body: B;
}

interface Row {
  id: string;
  assessment_id: string;
  trader_id: string | null;
  kind: string;
  trigger: string;
  status: string | null;
  created_at: Date;
  body?: string;
}

function header(r: Row): ReportHeader {
  return {
    id: Number(r.id),
    assessmentId: r.assessment_id,
    traderId: r.trader_id,
    kind: r.kind as ReportKind,
    trigger: r.trigger,
    status: r.status,
    createdAt: r.created_at.getTime(),
  };
}

export class PgReportStore {
  readonly #sql: postgres.Sql;

  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async #q<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async insert(r: {
    assessmentId: string;
    traderId: string | null;
    kind: ReportKind;
    trigger: string;
    status: string | null;
    body: unknown;
  }): Promise<ReportHeader> {
    const [row] = await this.#q(
      () => this.#sql<Row[]>`
      insert into reports (assessment_id, trader_id, kind, trigger, status, body)
      values (${r.assessmentId}, ${r.traderId}, ${r.kind}, ${r.trigger}, ${r.status}, ${encodeJson(r.body)}::text::jsonb)
      returning id, assessment_id, trader_id, kind, trigger, status, created_at`,
    );
    return header(row!);
  }

  /** The newest report of an assessment. */
  async latest<B>(assessmentId: string): Promise<StoredReport<B> | undefined> {
    const [row] = await this.#q(
      () => this.#sql<Row[]>`
      select id, assessment_id, trader_id, kind, trigger, status, created_at, body::text as body from reports
       where assessment_id = ${assessmentId} order by created_at desc, id desc limit 1`,
    );
    return row === undefined ? undefined : { ...header(row), body: decodeJson<B>(row.body!) };
  }

  async get<B>(id: number): Promise<StoredReport<B> | undefined> {
    const [row] = await this.#q(
      () => this.#sql<Row[]>`
      select id, assessment_id, trader_id, kind, trigger, status, created_at, body::text as body from reports where id = ${id}`,
    );
    return row === undefined ? undefined : { ...header(row), body: decodeJson<B>(row.body!) };
  }

  /** Reports newest first, of one trader or everyone's, before report id `before`. */
  async list(options: { traderId?: string; assessmentId?: string; before?: number; limit: number }): Promise<ReportHeader[]> {
    const before = options.before ?? Number.MAX_SAFE_INTEGER;
    const rows = await this.#q(
      () => this.#sql<Row[]>`
      select id, assessment_id, trader_id, kind, trigger, status, created_at from reports
       where id < ${before}
         ${options.traderId === undefined ? this.#sql`` : this.#sql`and trader_id = ${options.traderId}`}
         ${options.assessmentId === undefined ? this.#sql`` : this.#sql`and assessment_id = ${options.assessmentId}`}
       order by id desc limit ${options.limit}`,
    );
    return rows.map(header);
  }
}
