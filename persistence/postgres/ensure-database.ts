/**
 * Creates the database a connection string names when it is missing, through
 * the server's `postgres` maintenance database, so that the first
 * `npm run migrate` on a fresh server needs no other step.
 */
import postgres from 'postgres';

/** The database name is not one this creates (letters, digits, `_`, at most 63). */
export class DatabaseNameError extends Error {
  readonly code = 'INVALID_DATABASE_NAME';
  constructor(name: string) {
    super(`database name '${name}' must be 1..63 letters, digits or _`);
    this.name = 'DatabaseNameError';
  }
}

/** The name of the database a connection string names. */
export function databaseName(url: string): string {
  return decodeURIComponent(new URL(url).pathname.slice(1));
}

/**
 * Makes the database of `url` when it does not exist; resolves to whether it
 * was created. Two callers at once are fine: a lost race to create it counts
 * as found.
 */
export async function ensureDatabase(url: string): Promise<{ readonly name: string; readonly created: boolean }> {
  const name = databaseName(url);
  if (!/^[A-Za-z0-9_]{1,63}$/.test(name)) throw new DatabaseNameError(name);
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 10 });
  try {
    const [row] = await sql<{ n: number }[]>`select count(*)::int as n from pg_database where datname = ${name}`;
    if (row!.n > 0) return { name, created: false };
    try {
      await sql.unsafe(`create database "${name}"`);
      return { name, created: true };
    } catch (err) {
      if ((err as { code?: string }).code === '42P04') return { name, created: false }; // duplicate_database: made in between
      throw err;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}
