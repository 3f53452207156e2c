/**
 * Per-assessment snapshots in Postgres. Shards hand over many snapshots at
 * once; {@link PgSnapshotStore.saveBatch} writes small batches with
 * `INSERT ... SELECT FROM unnest(...) ON CONFLICT DO UPDATE` statements and
 * large ones through COPY into a temporary table (copy-snapshots.ts), guarded
 * so that
 *  - a snapshot never replaces a newer one (higher `version`), and
 *  - a writer with an older `ownerEpoch` (fencing token) never replaces a row
 *    written by a newer owner.
 */
import type postgres from 'postgres';
import type { AssessmentState } from '../../actors/index.js';
import { copySnapshots } from './copy-snapshots.js';
import { mapPgError } from './errors.js';
import { decodeJson, encodeJson } from '../../engine/index.js';
import { SnapshotSizeGuard, type SnapshotSizeGuardOptions } from '../snapshot-codec.js';

/** One assessment's snapshot as stored. */
export interface SnapshotRow<S = AssessmentState> {
  readonly assessmentId: string;
  /** Monotonic per assessment; a save with a version not above the stored one is refused. */
  readonly version: number;
  /** Fencing token of the shard owner that took the snapshot. */
  readonly ownerEpoch: number;
  /** Last market tick sequence folded into `state`. */
  readonly tickSeq: number;
  /** Journal position up to which commands are folded into `state`. */
  readonly journalPos: number;
  readonly state: S;
}

/** A stored row with its write time. */
export interface StoredSnapshotRow<S = AssessmentState> extends SnapshotRow<S> {
  readonly updatedAt: Date;
}

/** Options of {@link PgSnapshotStore}. */
export interface PgSnapshotStoreOptions extends SnapshotSizeGuardOptions {
  /**
   * Largest number of rows sent in one statement. Larger batches are split
   * into statements that run concurrently over the client's pool: each row is
   * guarded on its own, so a batch needs no transaction, and moderate
   * statements on several connections beat one huge statement.
   * @default 2_000
   */
  readonly maxRowsPerStatement?: number;
  /**
   * Batches of at least this many rows go through COPY instead.
   * @default 10_000
   */
  readonly copyThreshold?: number;
}

/** Raised for a row that cannot be stored (bad id or counter). */
export class SnapshotRowError extends Error {
  readonly code = 'SNAPSHOT_ROW_INVALID';
  constructor(message: string) {
    super(message);
    this.name = 'SnapshotRowError';
  }
}

interface DbRow {
  assessment_id: string;
  version: string;
  owner_epoch: string;
  tick_seq: string;
  journal_pos: string;
  state: string;
  updated_at: Date;
}

function counter(row: SnapshotRow<unknown>, field: 'version' | 'ownerEpoch' | 'tickSeq' | 'journalPos'): string {
  const v = row[field];
  if (!Number.isSafeInteger(v)) throw new SnapshotRowError(`snapshot ${row.assessmentId}: ${field} must be a safe integer, got ${v}`);
  return String(v);
}

/**
 * Snapshot store over a `postgres` (porsager/postgres) client. The store does
 * not own the client: the caller ends it. Run {@link migrate} first.
 *
 * Every method rejects with {@link PgUnavailableError} (`code: 'PG_UNAVAILABLE'`)
 * when the client is closed or the server cannot be reached.
 */
export class PgSnapshotStore<S = AssessmentState> {
  readonly #sql: postgres.Sql;
  readonly #maxRows: number;
  readonly #copyThreshold: number;
  readonly #size: SnapshotSizeGuard;

  /** @param sql a porsager/postgres client connected to a migrated database */
  constructor(sql: postgres.Sql, options: PgSnapshotStoreOptions = {}) {
    this.#sql = sql;
    this.#maxRows = options.maxRowsPerStatement ?? 2_000;
    if (!(this.#maxRows >= 1)) throw new RangeError('maxRowsPerStatement must be at least 1');
    this.#copyThreshold = options.copyThreshold ?? 10_000;
    this.#size = new SnapshotSizeGuard(options);
  }

  /** States written over the size cap so far (each is written, and reported to `onOversize`). */
  get oversized(): number {
    return this.#size.oversized;
  }

  /**
   * Upsert a batch of snapshots, `maxRowsPerStatement` rows per statement,
   * statements in parallel over the pool. A row is written when no snapshot of its assessment is stored, or
   * when its version is above the stored one and its owner epoch is not below
   * the stored one. Where a batch holds several rows for one assessment, the
   * one with the highest owner epoch, then the highest version, is the candidate.
   *
   * @returns how many rows were inserted or updated; refused rows are not counted
   */
  async saveBatch(rows: readonly SnapshotRow<S>[]): Promise<number> {
    if (rows.length === 0) return 0;
    // One candidate per assessment (highest owner epoch, then version) before
    // splitting, so concurrent statements never race for one row.
    const best = new Map<string, SnapshotRow<S>>();
    for (const r of rows) {
      const held = best.get(r.assessmentId);
      if (held === undefined || r.ownerEpoch > held.ownerEpoch || (r.ownerEpoch === held.ownerEpoch && r.version > held.version))
        best.set(r.assessmentId, r);
    }
    const unique = best.size === rows.length ? rows : [...best.values()];
    const bulk = unique.length >= this.#copyThreshold;
    const step = bulk ? unique.length : this.#maxRows;
    const chunks: (readonly SnapshotRow<S>[])[] = [];
    for (let i = 0; i < unique.length; i += step) chunks.push(unique.slice(i, i + step));
    const columns = chunks.map((chunk) => {
      const ids: string[] = [],
        versions: string[] = [],
        epochs: string[] = [],
        ticks: string[] = [],
        positions: string[] = [],
        states: string[] = [];
      for (const r of chunk) {
        if (typeof r.assessmentId !== 'string' || r.assessmentId === '') throw new SnapshotRowError('snapshot row without an assessmentId');
        ids.push(r.assessmentId);
        versions.push(counter(r, 'version'));
        epochs.push(counter(r, 'ownerEpoch'));
        ticks.push(counter(r, 'tickSeq'));
        positions.push(counter(r, 'journalPos'));
        states.push(this.#size.check(r.assessmentId, encodeJson(r.state)));
      }
      return { ids, versions, epochs, ticks, positions, states };
    });
    try {
      if (bulk) return await copySnapshots(this.#sql, columns[0]!);
      const counts = await Promise.all(
        columns.map(async (c) => {
          const result = await this.#sql`
            insert into snapshots (assessment_id, version, owner_epoch, tick_seq, journal_pos, state, updated_at)
            select distinct on (u.assessment_id)
                   u.assessment_id, u.version, u.owner_epoch, u.tick_seq, u.journal_pos, u.state, now()
              from unnest(
                     ${c.ids}::text[],
                     ${c.versions}::bigint[],
                     ${c.epochs}::bigint[],
                     ${c.ticks}::bigint[],
                     ${c.positions}::bigint[],
                     ${c.states}::text[]
                   ) as u(assessment_id, version, owner_epoch, tick_seq, journal_pos, state)
             order by u.assessment_id, u.owner_epoch desc, u.version desc
            on conflict (assessment_id) do update set
                   version = excluded.version,
                   owner_epoch = excluded.owner_epoch,
                   tick_seq = excluded.tick_seq,
                   journal_pos = excluded.journal_pos,
                   state = excluded.state,
                   updated_at = excluded.updated_at
             where snapshots.version < excluded.version
               and snapshots.owner_epoch <= excluded.owner_epoch`;
          return result.count;
        }),
      );
      return counts.reduce((a, b) => a + b, 0);
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** Every stored snapshot, ordered by assessment id. */
  async loadAll(): Promise<StoredSnapshotRow<S>[]> {
    try {
      const rows = await this.#sql<DbRow[]>`
        select assessment_id, version, owner_epoch, tick_seq, journal_pos, state, updated_at
          from snapshots order by assessment_id`;
      return rows.map((r) => this.#decode(r));
    } catch (err) {
      throw mapPgError(err);
    }
  }

  /** The stored snapshots of `ids` (ids without one are absent from the result), ordered by assessment id. */
  async load(ids: readonly string[]): Promise<StoredSnapshotRow<S>[]> {
    if (ids.length === 0) return [];
    try {
      const rows = await this.#sql<DbRow[]>`
        select assessment_id, version, owner_epoch, tick_seq, journal_pos, state, updated_at
          from snapshots where assessment_id = any(${[...ids]}::text[]) order by assessment_id`;
      return rows.map((r) => this.#decode(r));
    } catch (err) {
      throw mapPgError(err);
    }
  }

  #decode(r: DbRow): StoredSnapshotRow<S> {
    return {
      assessmentId: r.assessment_id,
      version: Number(r.version),
      ownerEpoch: Number(r.owner_epoch),
      tickSeq: Number(r.tick_seq),
      journalPos: Number(r.journal_pos),
      state: decodeJson<S>(r.state),
      updatedAt: r.updated_at,
    };
  }
}
