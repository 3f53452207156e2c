/**
 * Checkpoints of a shard group in Postgres. A checkpoint is written in one
 * transaction: the owner check (fencing), the changed actors' rows in
 * `snapshots` (COPY into a temporary table, then one guarded upsert), and the
 * group's `checkpoints` row with the positions they reflect. A crash mid-way
 * leaves the previous checkpoint whole.
 */
import type postgres from 'postgres';
import {
  FencedError,
  concatRows,
  encodeActorRows,
  type ActorRows,
  type EngineSnapshot,
  type KernelSnapshot,
  type Checkpoint,
  type CheckpointStore,
  type CheckpointWrite,
} from '../../engine/index.js';
import { loadActorRows } from './copy-snapshots.js';
import { isUnavailable, mapPgError } from './errors.js';
import { decodeJson, encodeJson } from '../../engine/index.js';
import { SnapshotSizeGuard, type SnapshotSizeGuardOptions } from '../snapshot-codec.js';

/** Options of {@link PgCheckpointStore}. */
export interface PgCheckpointStoreOptions extends SnapshotSizeGuardOptions {
  /** Shard group whose checkpoints these are. @default 'default' */
  readonly group?: string;
  /**
   * Stream actor rows through COPY; false sends them as `unnest` arrays of
   * 2,000 rows per statement instead (for servers without COPY FROM STDIN,
   * such as the embedded PGlite).
   * @default true
   */
  readonly copy?: boolean;
}

type KernelMeta = Omit<KernelSnapshot, 'actors'>;

function withoutActors(k: KernelSnapshot): KernelMeta {
  const { actors: _actors, ...meta } = k;
  return meta;
}

/** Checkpoint store over a porsager/postgres client (not owned: the caller ends it). */
export class PgCheckpointStore implements CheckpointStore {
  readonly #sql: postgres.Sql;
  readonly #group: string;
  readonly #copy: boolean;
  readonly #size: SnapshotSizeGuard;

  /** @param sql a client connected to a migrated database */
  constructor(sql: postgres.Sql, options: PgCheckpointStoreOptions = {}) {
    this.#sql = sql;
    this.#group = options.group ?? 'default';
    this.#copy = options.copy ?? true;
    this.#size = new SnapshotSizeGuard(options);
  }

  /** States larger than this (UTF-8 bytes) are reported when saved. */
  get maxStateBytes(): number {
    return this.#size.limit;
  }

  /** Actor states written over the size cap so far (each is written, and reported to `onOversize`). */
  get oversized(): number {
    return this.#size.oversized;
  }

  async claim(): Promise<number> {
    try {
      const [row] = await this.#sql<{ epoch: string }[]>`
        insert into shard_owners (group_id, epoch) values (${this.#group}, 1)
        on conflict (group_id) do update set epoch = shard_owners.epoch + 1, claimed_at = now()
        returning epoch`;
      return Number(row!.epoch);
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async load(): Promise<(Checkpoint & { actorsLoaded: number }) | undefined> {
    try {
      const [cp] = await this.#sql<{ version: string; input_pos: string; tick_seq: string; journal_pos: string; kernel: string }[]>`
        select version, input_pos, tick_seq, journal_pos, kernel from checkpoints where group_id = ${this.#group}`;
      if (cp === undefined) return undefined;
      const rows = await this.#sql<{ state: string; quarantined: boolean }[]>`
        select state, quarantined from snapshots where group_id = ${this.#group}`;
      const actors = rows.map((r) => ({
        state: decodeJson<KernelSnapshot['actors'][number]['state']>(r.state),
        quarantined: r.quarantined,
      }));
      actors.sort((a, b) => (a.state.id < b.state.id ? -1 : a.state.id > b.state.id ? 1 : 0));
      const inputPos = Number(cp.input_pos);
      const meta = decodeJson<KernelMeta>(cp.kernel);
      const snapshot: EngineSnapshot = { lastInput: inputPos, kernel: { ...meta, lastInput: inputPos, actors } };
      return {
        version: Number(cp.version),
        inputPos,
        tickSeq: Number(cp.tick_seq),
        journalPos: Number(cp.journal_pos),
        snapshot,
        actorsLoaded: actors.length,
      };
    } catch (err) {
      throw mapPgError(err);
    }
  }

  async save(cp: CheckpointWrite, epoch: number): Promise<void> {
    // Rows come encoded from the shard workers; a snapshot handed in whole is encoded here the same way.
    const { meta, rows } =
      'encoded' in cp
        ? { meta: cp.encoded.meta, rows: cp.encoded.all ?? concatRows([...(cp.encoded.byShard ?? new Map<number, ActorRows>()).values()]) }
        : {
            meta: withoutActors(cp.snapshot.kernel),
            rows: encodeActorRows(cp.snapshot.kernel.actors, { maxStateBytes: this.#size.limit }).all!,
          };
    for (const o of rows.oversized) this.#size.report(o.assessmentId, o.bytes);
    const version = String(cp.version);
    const owner = String(epoch);
    let conn: postgres.ReservedSql;
    try {
      conn = await this.#sql.reserve();
    } catch (err) {
      throw mapPgError(err);
    }
    try {
      await conn`begin`;
      const [held] = await conn<{ epoch: string }[]>`select epoch from shard_owners where group_id = ${this.#group} for update`;
      if (held === undefined || held.epoch !== owner) throw new FencedError(this.#group, epoch);
      if (rows.count > 0) {
        await loadActorRows(conn, rows, this.#copy);
        await conn`
          insert into snapshots (assessment_id, version, owner_epoch, tick_seq, journal_pos, state, group_id, quarantined, updated_at)
          select assessment_id, ${version}::bigint, ${owner}::bigint, ${String(cp.tickSeq)}::bigint, ${String(cp.journalPos)}::bigint,
                 state, ${this.#group}, quarantined, now()
            from checkpoint_rows_in
          on conflict (assessment_id) do update set
                 version = excluded.version, owner_epoch = excluded.owner_epoch, tick_seq = excluded.tick_seq,
                 journal_pos = excluded.journal_pos, state = excluded.state, group_id = excluded.group_id,
                 quarantined = excluded.quarantined, updated_at = excluded.updated_at
           where snapshots.version < excluded.version and snapshots.owner_epoch <= excluded.owner_epoch`;
      }
      await conn`
        insert into checkpoints (group_id, version, owner_epoch, input_pos, tick_seq, journal_pos, kernel, updated_at)
        values (${this.#group}, ${version}::bigint, ${owner}::bigint, ${String(cp.inputPos)}::bigint, ${String(cp.tickSeq)}::bigint,
                ${String(cp.journalPos)}::bigint, ${encodeJson(meta)}, now())
        on conflict (group_id) do update set
               version = excluded.version, owner_epoch = excluded.owner_epoch, input_pos = excluded.input_pos,
               tick_seq = excluded.tick_seq, journal_pos = excluded.journal_pos, kernel = excluded.kernel, updated_at = excluded.updated_at
         where checkpoints.version < excluded.version and checkpoints.owner_epoch <= excluded.owner_epoch`;
      await conn`commit`;
    } catch (err) {
      // On a dropped connection there is nothing to roll back, and postgres.js would throw out of band.
      if (!isUnavailable(err)) await conn`rollback`.catch(() => undefined);
      throw err instanceof FencedError ? err : mapPgError(err);
    } finally {
      conn.release();
    }
  }
}
