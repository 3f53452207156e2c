/**
 * A throwaway Postgres database for an integration test: created on the
 * server at DATABASE_URL's host (default 127.0.0.1:5432, user postgres),
 * migrated, and dropped at the end.
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

/** Create and migrate a database named `vatic_test_<random>`. */
export async function createTestDatabase(options: { max?: number } = {}): Promise<TestDatabase> {
  const name = `vatic_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(testServerUrl(), { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(testServerUrl());
  url.pathname = `/${name}`;
  const sql = postgres(url.toString(), { max: options.max ?? 4, onnotice: () => {} });
  await migrate(sql);
  return {
    name, url: url.toString(), sql,
    async drop() {
      await sql.end({ timeout: 5 });
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}
