/**
 * Simulation jobs in Postgres (migration 0004): one row per job, its result
 * as jsonb once it completes.
 */
import type postgres from 'postgres';
import type { SimulationResult, SimulationRecord, SimulationStatus, SimulationStore } from '../../sim/index.js';
import { mapPgError } from './errors.js';

interface Row {
  id: string;
  trader_id: string;
  assessment_id: string | null;
  tier_id: string;
  status: SimulationStatus;
  request: Record<string, unknown> | string;
  result: SimulationResult | string | null;
  error: SimulationRecord['error'] | string | null;
  created_at: Date;
  completed_at: Date | null;
}

/** jsonb comes back parsed from a server and as text through some proxies. */
function parsed<T>(v: T | string | null): T | null {
  return typeof v === 'string' ? (JSON.parse(v) as T) : v;
}

function toRecord(r: Row): SimulationRecord {
  return {
    id: r.id,
    traderId: r.trader_id,
    assessmentId: r.assessment_id,
    tierId: r.tier_id,
    status: r.status,
    request: parsed(r.request) ?? {},
    result: parsed(r.result),
    error: parsed(r.error),
    createdAt: r.created_at.getTime(),
    completedAt: r.completed_at === null ? null : r.completed_at.getTime(),
  };
}

export class PgSimulationStore implements SimulationStore {
  readonly #sql: postgres.Sql;

  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async #db<T>(f: () => Promise<T>): Promise<T> {
    try {
      return await f();
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async insert(r: SimulationRecord): Promise<void> {
    await this.#db(
      () => this.#sql`
      insert into simulations (id, trader_id, assessment_id, tier_id, status, request, created_at)
      values (${r.id}, ${r.traderId}, ${r.assessmentId}, ${r.tierId}, ${r.status}, ${JSON.stringify(r.request)}::jsonb, ${new Date(r.createdAt)})`,
    );
  }

  async finish(
    id: string,
    status: Exclude<SimulationStatus, 'running'>,
    result: SimulationResult | null,
    error: SimulationRecord['error'],
    at: number,
  ): Promise<void> {
    await this.#db(
      () => this.#sql`
      update simulations set status = ${status}, result = ${result === null ? null : JSON.stringify(result)}::jsonb,
        error = ${error === null ? null : JSON.stringify(error)}::jsonb, completed_at = ${new Date(at)}
      where id = ${id} and status = 'running'`,
    );
  }

  async get(id: string): Promise<SimulationRecord | undefined> {
    const rows = await this.#db(() => this.#sql<Row[]>`select * from simulations where id = ${id}`);
    return rows[0] === undefined ? undefined : toRecord(rows[0]);
  }

  async list(traderId: string | undefined, limit: number): Promise<SimulationRecord[]> {
    const rows = await this.#db(() =>
      traderId === undefined
        ? this.#sql<Row[]>`select * from simulations order by created_at desc, id desc limit ${limit}`
        : this.#sql<Row[]>`select * from simulations where trader_id = ${traderId} order by created_at desc, id desc limit ${limit}`,
    );
    return rows.map(toRecord);
  }

  async failInterrupted(startedBefore: number, at: number): Promise<number> {
    const rows = await this.#db(
      () => this.#sql`
      update simulations set status = 'failed', completed_at = ${new Date(at)},
        error = ${JSON.stringify({ code: 'INTERRUPTED', message: 'the process running this simulation stopped' })}::jsonb
      where status = 'running' and created_at < ${new Date(startedBefore)} returning id`,
    );
    return rows.length;
  }
}
