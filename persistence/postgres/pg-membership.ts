/**
 * Cluster membership in Postgres: one row per node name with a lease whose
 * expiry is set and judged by the database clock (`clock_timestamp()`), so
 * nodes' clocks never matter. A member whose lease lapsed is gone: it is not
 * listed, and its shards may be claimed.
 */
import type postgres from 'postgres';
import type { Member, MembershipStore, RenewOutcome } from '../../engine/index.js';
import { mapPgError } from './errors.js';

/** Membership over a porsager/postgres client (not owned: the caller ends it). */
export class PgMembership implements MembershipStore {
  readonly #sql: postgres.Sql;

  /** @param sql a client connected to a migrated database */
  constructor(sql: postgres.Sql) {
    this.#sql = sql;
  }

  async join(nodeId: string, ttlMs: number, info: Record<string, unknown>): Promise<{ readonly incarnation: number }> {
    try {
      const [row] = await this.#sql<{ incarnation: string }[]>`
        insert into cluster_members (node_id, incarnation, started_at, heartbeat_at, expires_at, draining, info)
        values (${nodeId}, 1, clock_timestamp(), clock_timestamp(), clock_timestamp() + ${ttlMs} * interval '1 millisecond', false, ${this.#sql.json(info as postgres.JSONValue)})
        on conflict (node_id) do update set
               incarnation = cluster_members.incarnation + 1, started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at,
               expires_at = excluded.expires_at, draining = false, info = excluded.info
        returning incarnation::text`;
      return { incarnation: Number(row!.incarnation) };
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async renew(nodeId: string, incarnation: number, ttlMs: number): Promise<RenewOutcome> {
    try {
      const [row] = await this.#sql<{ lapsed: boolean }[]>`
        with old as (select expires_at from cluster_members where node_id = ${nodeId} and incarnation = ${incarnation} for update)
        update cluster_members m set heartbeat_at = clock_timestamp(), expires_at = clock_timestamp() + ${ttlMs} * interval '1 millisecond'
          from old where m.node_id = ${nodeId} and m.incarnation = ${incarnation}
        returning old.expires_at <= clock_timestamp() as lapsed`;
      if (row === undefined) return 'replaced';
      return row.lapsed ? 'lapsed' : 'renewed';
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async setDraining(nodeId: string, incarnation: number, draining: boolean): Promise<void> {
    try {
      await this.#sql`update cluster_members set draining = ${draining} where node_id = ${nodeId} and incarnation = ${incarnation}`;
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async leave(nodeId: string, incarnation: number): Promise<void> {
    try {
      await this.#sql`delete from cluster_members where node_id = ${nodeId} and incarnation = ${incarnation}`;
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async live(): Promise<Member[]> {
    try {
      const rows = await this.#sql<
        { node_id: string; incarnation: string; draining: boolean; expires_in_ms: number; info: Record<string, unknown> }[]
      >`
        select node_id, incarnation::text, draining, (extract(epoch from (expires_at - clock_timestamp())) * 1000)::float8 as expires_in_ms, info
          from cluster_members where expires_at > clock_timestamp() order by node_id`;
      return rows.map((r) => ({
        nodeId: r.node_id,
        incarnation: Number(r.incarnation),
        draining: r.draining,
        expiresInMs: r.expires_in_ms,
        info: r.info,
      }));
    } catch (err) {
      throw mapPgError(err);
    }
  }
}
