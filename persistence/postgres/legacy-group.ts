/**
 * One-time conversion of a database written by a single-group node (every
 * row under one group id, `default` unless ENGINE_GROUP named another) into
 * the per-shard layout, exactly: each journal entry and actor row moves to
 * its assessment's shard key; the group's checkpoint becomes one checkpoint
 * per shard with the same positions and kernel state (a checkpoint of the
 * whole group reflects every shard at those positions); its owner epoch
 * becomes every shard's, released, so any node may claim them and an old
 * single-group node still running is fenced (its owner row is gone).
 * All in one transaction, holding the old owner row: a journal write of the
 * old node either commits before and is converted, or is refused after.
 */
import { createHash } from 'node:crypto';
import type postgres from 'postgres';
import { shardKey, shardOf, VIRTUAL_SHARDS } from '../../engine/index.js';
import { isUnavailable, mapPgError } from './errors.js';

/** Raised when a database holds rows of both layouts: which is newer cannot be told, so nothing is converted. */
export class LegacyLayoutConflictError extends Error {
  readonly code = 'LEGACY_LAYOUT_CONFLICT';
  constructor(group: string) {
    super(
      `group '${group}' has single-group rows and per-shard rows (owners or checkpoints) already exist; convert or remove one of them by hand`,
    );
    this.name = 'LegacyLayoutConflictError';
  }
}

/** What a conversion did. */
export interface LegacyConversion {
  readonly converted: boolean;
  readonly journalEntries: number;
  readonly actors: number;
  /** Whether the group had a checkpoint (then every shard got one). */
  readonly checkpoint: boolean;
}

/** Convert the rows of single-group `group` to per-shard rows; nothing to do leaves everything as is. */
export async function convertLegacyGroup(sql: postgres.Sql, group = 'default'): Promise<LegacyConversion> {
  if (/^v[0-9]{4}$/.test(group)) throw new RangeError(`'${group}' is a shard key, not a group`);
  const nothing: LegacyConversion = { converted: false, journalEntries: 0, actors: 0, checkpoint: false };
  try {
    // A cheap look first: a database in the new layout pays one indexed read per start.
    const [any] = await sql<{ n: number }[]>`
      select (exists (select 1 from shard_owners where group_id = ${group})
           or exists (select 1 from checkpoints where group_id = ${group})
           or exists (select 1 from journal where group_id = ${group})
           or exists (select 1 from snapshots where group_id = ${group}))::int as n`;
    if (any!.n === 0) return nothing;
  } catch (err) {
    throw mapPgError(err);
  }
  let conn: postgres.ReservedSql;
  try {
    conn = await sql.reserve();
  } catch (err) {
    throw mapPgError(err);
  }
  try {
    await conn`begin`;
    const [owner] = await conn<{ epoch: string }[]>`select epoch::text from shard_owners where group_id = ${group} for update`;
    const [cp] = await conn<
      { version: string; owner_epoch: string; input_pos: string; tick_seq: string; journal_pos: string; kernel: string }[]
    >`
      select version, owner_epoch, input_pos, tick_seq, journal_pos, kernel from checkpoints where group_id = ${group}`;
    const [clash] = await conn<{ n: number }[]>`
      select ((select count(*) from checkpoints where group_id ~ '^v[0-9]{4}$') + (select count(*) from shard_owners where group_id ~ '^v[0-9]{4}$'))::int as n`;
    if (clash!.n > 0) throw new LegacyLayoutConflictError(group);
    const ids = await conn<{ assessment_id: string }[]>`
      select distinct assessment_id from journal where group_id = ${group}
      union select assessment_id from snapshots where group_id = ${group}`;
    const a = ids.map((r) => r.assessment_id);
    const k = a.map((id) => shardKey(shardOf(id)));
    const journal = await conn`
      update journal j set group_id = m.k from unnest(${a}::text[], ${k}::text[]) as m(a, k)
       where j.group_id = ${group} and j.assessment_id = m.a`;
    const actors = await conn`
      update snapshots s set group_id = m.k from unnest(${a}::text[], ${k}::text[]) as m(a, k)
       where s.group_id = ${group} and s.assessment_id = m.a`;
    const keys = Array.from({ length: VIRTUAL_SHARDS }, (_, v) => shardKey(v));
    if (cp !== undefined) {
      const hash = createHash('sha256').update(cp.kernel).digest('hex');
      await conn`insert into checkpoint_kernels (hash, kernel, created_at) values (${hash}, ${cp.kernel}, clock_timestamp())
                 on conflict (hash) do update set created_at = excluded.created_at`;
      await conn`
        insert into checkpoints (group_id, version, owner_epoch, input_pos, tick_seq, journal_pos, kernel, kernel_hash, updated_at)
        select k, ${cp.version}::bigint, ${cp.owner_epoch}::bigint, ${cp.input_pos}::bigint, ${cp.tick_seq}::bigint,
               ${cp.journal_pos}::bigint, null, ${hash}, now()
          from unnest(${keys}::text[]) as k`;
      await conn`delete from checkpoints where group_id = ${group}`;
    }
    const epoch = owner?.epoch ?? cp?.owner_epoch ?? '1';
    // Each shard's epoch starts at the group's: the next claim of any shard is above every write the old node made.
    await conn`
      insert into shard_owners (group_id, epoch, owner_node, released, claimed_at)
      select k, ${epoch}::bigint, null, true, clock_timestamp() from unnest(${keys}::text[]) as k`;
    await conn`delete from shard_owners where group_id = ${group}`;
    await conn`commit`;
    return { converted: true, journalEntries: journal.count, actors: actors.count, checkpoint: cp !== undefined };
  } catch (err) {
    if (!isUnavailable(err)) await conn`rollback`.catch(() => undefined);
    throw err instanceof LegacyLayoutConflictError ? err : mapPgError(err);
  } finally {
    conn.release();
  }
}
