/**
 * Ownership and checkpoints per virtual shard in Postgres. A shard's owner
 * row (`shard_owners`, group_id = shard key) carries its epoch; a claim bumps
 * it (conditional on who holds it now); a checkpoint save holds the owner rows
 * of the shards it writes FOR SHARE and writes only those still held at the
 * saver's epoch, so one transaction saves many shards and refuses, one by one,
 * those another node claimed. Each shard's `checkpoints` row holds the market
 * seq and that shard's journal position it reflects, with the kernel's shared
 * state; its actors' rows in `snapshots` carry its shard key and their event
 * cursor.
 */
import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import {
  shardKey,
  concatRows,
  encodeActorRows,
  type ClaimRule,
  type KernelMeta,
  type ShardActor,
  type ShardCheckpoint,
  type ShardCheckpointWrite,
  type ShardOwner,
  type ShardStore,
} from '../../engine/index.js';
import { loadActorRows } from './copy-snapshots.js';
import { isUnavailable, mapPgError } from './errors.js';
import { decodeJson, encodeJson } from '../../engine/index.js';
import { SnapshotSizeGuard, type SnapshotSizeGuardOptions } from '../snapshot-codec.js';

/** Options of {@link PgShardStore}. */
export interface PgShardStoreOptions extends SnapshotSizeGuardOptions {
  /**
   * Stream actor rows through COPY; false sends them as `unnest` arrays of
   * 2,000 rows per statement (for servers without COPY FROM STDIN, such as
   * the embedded PGlite).
   * @default true
   */
  readonly copy?: boolean;
}

/** Raised when a save would move a shard's checkpoint back (a bug: the transaction is rolled back). */
export class CheckpointRegressionError extends Error {
  readonly code = 'CHECKPOINT_REGRESSION';
  constructor(shards: readonly number[]) {
    super(`checkpoint of shard(s) ${shards.join(', ')} not above the stored version; nothing was saved`);
    this.name = 'CheckpointRegressionError';
  }
}

const SHARD_KEY = /^v(\d{4})$/;

/** The virtual shard a shard key names, or undefined for another group id. */
export function shardOfKey(key: string): number | undefined {
  const m = SHARD_KEY.exec(key);
  return m === null ? undefined : Number(m[1]);
}

/** Ownership and checkpoints over a porsager/postgres client (not owned: the caller ends it). */
export class PgShardStore implements ShardStore {
  readonly #sql: postgres.Sql;
  readonly #copy: boolean;
  readonly #size: SnapshotSizeGuard;

  /** @param sql a client connected to a migrated database */
  constructor(sql: postgres.Sql, options: PgShardStoreOptions = {}) {
    this.#sql = sql;
    this.#copy = options.copy ?? true;
    this.#size = new SnapshotSizeGuard(options);
  }

  /** States larger than this (UTF-8 bytes) are reported when saved. */
  get maxStateBytes(): number {
    return this.#size.limit;
  }

  async claim(shards: readonly number[], rule: ClaimRule): Promise<Map<number, number>> {
    if (shards.length === 0) return new Map();
    const keys = shards.map(shardKey);
    const expected = shards.map((v) => String(rule.expected?.get(v) ?? -1));
    try {
      // A missing row is an unowned shard (epoch 1 is its first claim); an existing one is bumped
      // if the rule allows. Concurrent claimers of one row serialise on its lock, and the loser
      // re-checks the rule against the winner's row (held by a live member now: refused).
      const sql = this.#sql;
      const allowed = rule.force
        ? sql`true`
        : sql`(o.released or o.owner_node is null or o.owner_node = ${rule.node}
                  or not exists (select 1 from cluster_members m where m.node_id = o.owner_node and m.expires_at > clock_timestamp()))`;
      const rows = await sql<{ group_id: string; epoch: string }[]>`
        with want as (select * from unnest(${keys}::text[], ${expected}::bigint[]) as w(k, e)),
        ins as (
          insert into shard_owners (group_id, epoch, owner_node, released, claimed_at)
          select k, 1, ${rule.node}, false, clock_timestamp() from want where e <= 0
          on conflict (group_id) do nothing
          returning group_id, epoch),
        upd as (
          update shard_owners o set epoch = o.epoch + 1, owner_node = ${rule.node}, released = false, claimed_at = clock_timestamp()
            from want
           where o.group_id = want.k and (want.e < 0 or o.epoch = want.e) and ${allowed}
          returning o.group_id, o.epoch)
        select group_id, epoch::text from ins union all select group_id, epoch::text from upd`;
      const out = new Map<number, number>();
      for (const r of rows) out.set(shardOfKey(r.group_id)!, Number(r.epoch));
      return out;
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async load(shards: readonly number[]): Promise<Map<number, ShardCheckpoint>> {
    const out = new Map<number, ShardCheckpoint>();
    if (shards.length === 0) return out;
    const keys = shards.map(shardKey);
    try {
      const cps = await this.#sql<
        { group_id: string; version: string; tick_seq: string; journal_pos: string; kernel: string | null; kernel_hash: string | null }[]
      >`
        select group_id, version, tick_seq, journal_pos, kernel, kernel_hash from checkpoints where group_id = any(${keys}::text[])`;
      if (cps.length === 0) return out;
      // Many shards name one kernel state: read and decode each once.
      const hashes = [...new Set(cps.map((c) => c.kernel_hash).filter((h): h is string => h !== null))];
      const kernels = new Map(
        (
          await this.#sql<{ hash: string; kernel: string }[]>`
        select hash, kernel from checkpoint_kernels where hash = any(${hashes}::text[])`
        ).map((k) => [k.hash, k.kernel]),
      );
      const metas = new Map<string, { meta: KernelMeta; key: string }>();
      const metaOf = (c: { kernel: string | null; kernel_hash: string | null }): { meta: KernelMeta; key: string } => {
        const key = c.kernel_hash ?? c.kernel!;
        let m = metas.get(key);
        if (m === undefined) {
          const text = c.kernel ?? kernels.get(c.kernel_hash!);
          if (text === undefined) throw new Error(`checkpoint kernel ${c.kernel_hash} is missing`);
          metas.set(key, (m = { meta: decodeJson<KernelMeta>(text), key }));
        }
        return m;
      };
      const rows = await this.#sql<
        { group_id: string; state: string; quarantined: boolean; cursor_input: string | null; cursor_n: number | null }[]
      >`
        select group_id, state, quarantined, cursor_input, cursor_n from snapshots where group_id = any(${cps.map((c) => c.group_id)}::text[])`;
      const actors = new Map<string, ShardActor[]>();
      for (const r of rows) {
        const a: ShardActor = {
          state: decodeJson<ShardActor['state']>(r.state),
          quarantined: r.quarantined,
          ...(r.cursor_input === null ? {} : { cursor: [Number(r.cursor_input), r.cursor_n ?? 0] as const }),
        };
        const list = actors.get(r.group_id);
        if (list === undefined) actors.set(r.group_id, [a]);
        else list.push(a);
      }
      for (const c of cps) {
        const list = actors.get(c.group_id) ?? [];
        list.sort((a, b) => (a.state.id < b.state.id ? -1 : a.state.id > b.state.id ? 1 : 0));
        const shard = shardOfKey(c.group_id)!;
        const { meta, key } = metaOf(c);
        out.set(shard, {
          shard,
          version: Number(c.version),
          tickSeq: Number(c.tick_seq),
          journalPos: Number(c.journal_pos),
          meta,
          metaText: key,
          actors: list,
        });
      }
      return out;
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async save(
    writes: readonly ShardCheckpointWrite[],
    options: { readonly release?: boolean } = {},
  ): Promise<{ readonly fenced: readonly number[] }> {
    if (writes.length === 0) return { fenced: [] };
    let conn: postgres.ReservedSql;
    try {
      conn = await this.#sql.reserve();
    } catch (err) {
      throw mapPgError(err);
    }
    try {
      await conn`begin`;
      // In key order, as every claimer locks: no deadlock between savers and claimers.
      const held = await conn<{ group_id: string; epoch: string; released: boolean }[]>`
        select group_id, epoch::text, released from shard_owners where group_id = any(${writes.map((w) => shardKey(w.shard))}::text[])
         order by group_id for share`;
      const heldAt = new Map(held.map((h) => [h.group_id, h]));
      const fenced: number[] = [];
      const ok: ShardCheckpointWrite[] = [];
      for (const w of writes) {
        const h = heldAt.get(shardKey(w.shard));
        if (h === undefined || h.epoch !== String(w.epoch) || h.released) fenced.push(w.shard);
        else ok.push(w);
      }
      if (ok.length > 0) {
        await this.#writeActors(conn, ok);
        await this.#writeCheckpoints(conn, ok);
        if (options.release === true) {
          await conn`update shard_owners set released = true, claimed_at = clock_timestamp() where group_id = any(${ok.map((w) => shardKey(w.shard))}::text[])`;
        }
      }
      await conn`commit`;
      return { fenced };
    } catch (err) {
      // On a dropped connection there is nothing to roll back, and postgres.js would throw out of band.
      if (!isUnavailable(err)) await conn`rollback`.catch(() => undefined);
      throw err instanceof CheckpointRegressionError ? err : mapPgError(err);
    } finally {
      conn.release();
    }
  }

  async release(shards: ReadonlyMap<number, number>): Promise<number[]> {
    if (shards.size === 0) return [];
    try {
      const rows = await this.#sql<{ group_id: string }[]>`
        update shard_owners o set released = true, claimed_at = clock_timestamp()
          from unnest(${[...shards.keys()].map(shardKey)}::text[], ${[...shards.values()].map(String)}::bigint[]) as u(k, e)
         where o.group_id = u.k and o.epoch = u.e and not o.released
        returning o.group_id`;
      return rows.map((r) => shardOfKey(r.group_id)!);
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async owners(): Promise<ShardOwner[]> {
    try {
      const rows = await this.#sql<{ group_id: string; epoch: string; owner_node: string | null; released: boolean }[]>`
        select group_id, epoch::text, owner_node, released from shard_owners where group_id ~ '^v[0-9]{4}$' order by group_id`;
      return rows.map((r) => ({ shard: shardOfKey(r.group_id)!, epoch: Number(r.epoch), ownerNode: r.owner_node, released: r.released }));
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async newestMeta(): Promise<{ readonly tickSeq: number; readonly meta: KernelMeta } | undefined> {
    try {
      const [row] = await this.#sql<{ tick_seq: string; kernel: string }[]>`
        select c.tick_seq, coalesce(c.kernel, k.kernel) as kernel
          from checkpoints c left join checkpoint_kernels k on k.hash = c.kernel_hash
         where c.group_id ~ '^v[0-9]{4}$' order by c.tick_seq desc limit 1`;
      return row === undefined ? undefined : { tickSeq: Number(row.tick_seq), meta: decodeJson<KernelMeta>(row.kernel) };
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async #writeActors(conn: postgres.ReservedSql, writes: readonly ShardCheckpointWrite[]): Promise<void> {
    // Rows come encoded from the shard workers; actors handed in whole (a hand-over's) are encoded here the same way.
    const rows = concatRows(writes.map((w) => w.rows ?? encodeActorRows(w.actors, { maxStateBytes: this.#size.limit }).all!));
    if (rows.count === 0) return;
    for (const o of rows.oversized) this.#size.report(o.assessmentId, o.bytes);
    await loadActorRows(conn, rows, this.#copy);
    // Each row takes its shard's marks; a row of a shard not written here (none is expected) is left out.
    await conn`
      insert into snapshots (assessment_id, version, owner_epoch, tick_seq, journal_pos, state, group_id, quarantined, cursor_input, cursor_n, updated_at)
      select i.assessment_id, w.v, w.e, w.t, w.j, i.state, i.shard_key, i.quarantined, i.cursor_input, i.cursor_n, now()
        from checkpoint_rows_in i
        join unnest(${writes.map((w) => shardKey(w.shard))}::text[], ${writes.map((w) => String(w.version))}::bigint[],
                    ${writes.map((w) => String(w.epoch))}::bigint[], ${writes.map((w) => String(w.tickSeq))}::bigint[],
                    ${writes.map((w) => String(w.journalPos))}::bigint[]) as w(g, v, e, t, j) on w.g = i.shard_key
      on conflict (assessment_id) do update set
             version = excluded.version, owner_epoch = excluded.owner_epoch, tick_seq = excluded.tick_seq,
             journal_pos = excluded.journal_pos, state = excluded.state, group_id = excluded.group_id,
             quarantined = excluded.quarantined, cursor_input = excluded.cursor_input, cursor_n = excluded.cursor_n,
             updated_at = excluded.updated_at
       where snapshots.version < excluded.version and snapshots.owner_epoch <= excluded.owner_epoch`;
  }

  async #writeCheckpoints(conn: postgres.ReservedSql, writes: readonly ShardCheckpointWrite[]): Promise<void> {
    // Shards saved together share one boundary and usually one meta: each distinct one is stored once.
    const hashes = new Map<KernelMeta, string>();
    const kernels = new Map<string, string>();
    for (const w of writes) {
      if (hashes.has(w.meta)) continue;
      const text = encodeJson(w.meta);
      const hash = createHash('sha256').update(text).digest('hex');
      hashes.set(w.meta, hash);
      kernels.set(hash, text);
    }
    // The refresh locks the row: a concurrent clean-up waits for this transaction and then spares it.
    await conn`
      insert into checkpoint_kernels (hash, kernel, created_at)
      select * from unnest(${[...kernels.keys()]}::text[], ${[...kernels.values()]}::text[]), clock_timestamp()
      on conflict (hash) do update set created_at = excluded.created_at`;
    const result = await conn`
      insert into checkpoints (group_id, version, owner_epoch, input_pos, tick_seq, journal_pos, kernel, kernel_hash, updated_at)
      select g, v, e, i, t, j, null, h, now()
        from unnest(${writes.map((w) => shardKey(w.shard))}::text[], ${writes.map((w) => String(w.version))}::bigint[],
                    ${writes.map((w) => String(w.epoch))}::bigint[], ${writes.map((w) => String(w.inputPos))}::bigint[],
                    ${writes.map((w) => String(w.tickSeq))}::bigint[], ${writes.map((w) => String(w.journalPos))}::bigint[],
                    ${writes.map((w) => hashes.get(w.meta)!)}::text[]) as u(g, v, e, i, t, j, h)
      on conflict (group_id) do update set
             version = excluded.version, owner_epoch = excluded.owner_epoch, input_pos = excluded.input_pos,
             tick_seq = excluded.tick_seq, journal_pos = excluded.journal_pos, kernel = null, kernel_hash = excluded.kernel_hash, updated_at = excluded.updated_at
       where checkpoints.version < excluded.version and checkpoints.owner_epoch <= excluded.owner_epoch
      returning group_id`;
    if (result.length !== writes.length) {
      const written = new Set(result.map((r) => (r as { group_id: string }).group_id));
      throw new CheckpointRegressionError(writes.filter((w) => !written.has(shardKey(w.shard))).map((w) => w.shard));
    }
    await conn`
      delete from checkpoint_kernels k
       where k.created_at < clock_timestamp() - interval '10 minutes'
         and not exists (select 1 from checkpoints c where c.kernel_hash = k.hash)`;
  }
}
