/**
 * Schema migrations: plain `.sql` files in `migrations/`, applied in file-name
 * order, each recorded in `schema_migrations`. One transaction holds a
 * transaction-scoped advisory lock for the whole run, so concurrent migrators
 * serialise: the second sees what the first applied and applies nothing.
 */
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type postgres from 'postgres';
import { mapPgError } from './errors.js';

/** Directory holding the migrations shipped with this package. */
export const MIGRATIONS_DIR = fileURLToPath(new URL('./migrations/', import.meta.url));

/** Advisory lock key taken by every migrator (an arbitrary constant: "vatic" + 1). */
export const MIGRATION_LOCK_KEY = 0x766174696301n;

/** One migration file. */
export interface Migration {
  /** File name, e.g. `0001_init.sql`; also the id recorded in `schema_migrations`. */
  readonly name: string;
  readonly sql: string;
  /** sha256 of the file text, hex. */
  readonly checksum: string;
}

/** Options of {@link migrate}. */
export interface MigrateOptions {
  /**
   * Directory of `NNNN_name.sql` files.
   * @default MIGRATIONS_DIR (persistence/postgres/migrations)
   */
  readonly dir?: string;
  /**
   * Fail when an applied migration's file has changed since it was applied.
   * @default true
   */
  readonly verifyChecksums?: boolean;
}

/** What a {@link migrate} run did. */
export interface MigrateResult {
  /** Migrations applied by this call, in order. */
  readonly applied: string[];
  /** Migrations that were already recorded before this call. */
  readonly skipped: string[];
}

/** Raised when a recorded migration no longer matches its file. */
export class MigrationChecksumError extends Error {
  readonly code = 'MIGRATION_CHECKSUM';
  readonly migration: string;
  constructor(migration: string) {
    super(`migration ${migration} was changed after it was applied`);
    this.name = 'MigrationChecksumError';
    this.migration = migration;
  }
}

/** Read the `.sql` files of `dir`, sorted by name. */
export async function loadMigrations(dir: string = MIGRATIONS_DIR): Promise<Migration[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.sql')).sort();
  return Promise.all(
    names.map(async (name) => {
      const text = await readFile(join(dir, name), 'utf8');
      return { name, sql: text, checksum: createHash('sha256').update(text).digest('hex') };
    }),
  );
}

/**
 * Apply the pending migrations in one transaction under an advisory lock.
 * Idempotent: a second call (or a concurrent one) applies nothing.
 * On failure nothing of the run is kept.
 */
export async function migrate(sql: postgres.Sql, options: MigrateOptions = {}): Promise<MigrateResult> {
  const migrations = await loadMigrations(options.dir);
  const verify = options.verifyChecksums ?? true;
  try {
    return await sql.begin(async (tx) => {
      await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY.toString()}::bigint)`;
      // Created under the lock, so concurrent first runs cannot race on the catalog.
      await tx`
        create table if not exists schema_migrations (
          name text primary key,
          checksum text not null,
          applied_at timestamptz not null default now()
        )`;
      const rows = await tx<{ name: string; checksum: string }[]>`select name, checksum from schema_migrations`;
      const done = new Map(rows.map((r) => [r.name, r.checksum]));
      const applied: string[] = [];
      const skipped: string[] = [];
      for (const m of migrations) {
        const recorded = done.get(m.name);
        if (recorded !== undefined) {
          if (verify && recorded !== m.checksum) throw new MigrationChecksumError(m.name);
          skipped.push(m.name);
          continue;
        }
        await tx.unsafe(m.sql); // no parameters: simple protocol, several statements allowed
        await tx`insert into schema_migrations (name, checksum) values (${m.name}, ${m.checksum})`;
        applied.push(m.name);
      }
      return { applied, skipped };
    });
  } catch (err) {
    throw mapPgError(err);
  }
}
