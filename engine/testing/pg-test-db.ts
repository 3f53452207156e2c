/**
 * A throwaway Postgres database for an integration test or a bench: created
 * on the server at TEST_DATABASE_URL (default 127.0.0.1:5432, user postgres)
 * or the URL given, migrated, and dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrate } from '../../persistence/index.js';

/** A migrated test database. */
export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  readonly sql: postgres.Sql;
  /** Close the client and drop the database. */
  drop(): Promise<void>;
}

/** Admin URL of the test server. @default postgres://postgres@127.0.0.1:5432/postgres */
export function testServerUrl(): string {
  return process.env['TEST_DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
}

/** Options of {@link createTestDatabase}. */
export interface TestDatabaseOptions {
  /** Connections of the database's client. @default 4 */
  readonly max?: number;
  /** Admin URL of the server to create it on. @default testServerUrl() */
  readonly serverUrl?: string;
  /** Start of the database's name, before a random suffix. @default 'vatic_test_' */
  readonly prefix?: string;
}

/**
 * Create and migrate a database named `<prefix><random>` (tests and benches
 * alike). A failed migration drops it again before rethrowing.
 */
export async function createTestDatabase(options: TestDatabaseOptions = {}): Promise<TestDatabase> {
  const name = `${options.prefix ?? 'vatic_test_'}${randomBytes(6).toString('hex')}`;
  const serverUrl = options.serverUrl ?? testServerUrl();
  const admin = postgres(serverUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: options.max ?? 4, onnotice: () => {} });
  const drop = async (): Promise<void> => {
    await sql.end({ timeout: 5 });
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  };
  try {
    await migrate(sql);
  } catch (err) {
    await drop();
    throw err;
  }
  return { name, url: url.toString(), sql, drop };
}
