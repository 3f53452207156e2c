/**
 * Apply pending schema migrations, creating the database first when it is
 * missing (`--no-create` to refuse instead).
 *
 *   tsx engine/main/migrate.ts --url postgres://postgres@127.0.0.1:5432/vatic
 *   DATABASE_URL=postgres://... tsx engine/main/migrate.ts
 */
import { Command } from 'commander';
import postgres from 'postgres';
import { databaseName, ensureDatabase, migrate, MIGRATIONS_DIR } from '../../persistence/index.js';

const program = new Command()
  .name('migrate')
  .description('Apply pending Postgres schema migrations')
  .option('--url <url>', 'connection string (default: $DATABASE_URL)')
  .option('--dir <dir>', 'migrations directory', MIGRATIONS_DIR)
  .option('--no-create', 'fail instead of creating the database when it is missing')
  .parse();

const opts = program.opts<{ url?: string; dir: string; create: boolean }>();
const url = opts.url ?? process.env['DATABASE_URL'];
if (url === undefined || url === '') {
  console.error('migrate: give --url or set DATABASE_URL');
  process.exit(2);
}

if (opts.create) {
  try {
    const { name, created } = await ensureDatabase(url);
    if (created) console.log(`created database ${name}`);
  } catch (err) {
    console.error(`migrate: could not create database '${databaseName(url)}': ${(err as Error).message}`);
    process.exit(1);
  }
}

const sql = postgres(url, { max: 1, onnotice: () => {} });
try {
  const { applied, skipped } = await migrate(sql, { dir: opts.dir });
  for (const name of skipped) console.log(`already applied  ${name}`);
  for (const name of applied) console.log(`applied          ${name}`);
  if (applied.length === 0) console.log('schema is up to date');
} catch (err) {
  const missing = /3D000|does not exist/.test((err as Error).message) && /database/.test((err as Error).message);
  console.error(`migrate: ${(err as Error).message}${missing ? ' (run without --no-create to create it)' : ''}`);
  process.exitCode = 1;
} finally {
  await sql.end({ timeout: 5 });
}
