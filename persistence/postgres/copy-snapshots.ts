/**
 * The bulk path of the snapshot store: large batches stream into a temporary
 * table with COPY (no array literals to escape, about 0.4 s for 100k rows of
 * ~850 B here), then one guarded upsert moves them into `snapshots`.
 */
import type postgres from 'postgres';

/** Encoded columns of deduplicated snapshot rows (counters as decimal strings). */
export interface SnapshotColumns {
  readonly ids: readonly string[];
  readonly versions: readonly string[];
  readonly epochs: readonly string[];
  readonly ticks: readonly string[];
  readonly positions: readonly string[];
  readonly states: readonly string[];
}

/** COPY text format: backslash is the only escape JSON text and ids can need (JSON has no raw tabs or newlines). */
function field(s: string): string {
  return s.includes('\\') || s.includes('\t') || s.includes('\n') ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n') : s;
}

/**
 * Write rows through COPY and an upsert on one reserved connection; returns
 * rows written. `guarded: false` drops the version and epoch guard: only for
 * the bench's baseline, which measures what the guard costs.
 */
export async function copySnapshots(sql: postgres.Sql, c: SnapshotColumns, options: { table?: string; guarded?: boolean } = {}): Promise<number> {
  const table = options.table ?? 'snapshots';
  const guard = options.guarded ?? true;
  const conn = await sql.reserve();
  try {
    await conn`begin`;
    await conn`create temp table snapshots_in (
      assessment_id text, version bigint, owner_epoch bigint, tick_seq bigint, journal_pos bigint, state text) on commit drop`;
    const stream = await conn`copy snapshots_in from stdin`.writable();
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', () => resolve());
      let i = 0;
      const pump = (): void => {
        while (i < c.ids.length) {
          const parts: string[] = [];
          for (const end = Math.min(c.ids.length, i + 1_000); i < end; i++) {
            parts.push(`${field(c.ids[i]!)}\t${c.versions[i]}\t${c.epochs[i]}\t${c.ticks[i]}\t${c.positions[i]}\t${field(c.states[i]!)}\n`);
          }
          if (!stream.write(parts.join(''))) {
            stream.once('drain', pump);
            return;
          }
        }
        stream.end();
      };
      pump();
    });
    const result = await conn.unsafe(`
      insert into ${table} (assessment_id, version, owner_epoch, tick_seq, journal_pos, state, updated_at)
      select assessment_id, version, owner_epoch, tick_seq, journal_pos, state, now() from snapshots_in
      on conflict (assessment_id) do update set
             version = excluded.version, owner_epoch = excluded.owner_epoch, tick_seq = excluded.tick_seq,
             journal_pos = excluded.journal_pos, state = excluded.state, updated_at = excluded.updated_at
      ${guard ? `where ${table}.version < excluded.version and ${table}.owner_epoch <= excluded.owner_epoch` : ''}`);
    await conn`commit`;
    return result.count;
  } catch (err) {
    await conn`rollback`.catch(() => undefined);
    throw err;
  } finally {
    conn.release();
  }
}
