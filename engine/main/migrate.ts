/**
 * Apply pending schema migrations.
 *
 *   tsx engine/main/migrate.ts --url postgres://postgres@127.0.0.1:5432/vatic
 *   DATABASE_URL=postgres://... tsx engine/main/migrate.ts
 */
import { Command } from 'commander';
import postgres from 'postgres';
import { migrate, MIGRATIONS_DIR } from '../../persistence/index.js';

const program = new Command()
  .name('migrate')
  .description('Apply pending Postgres schema migrations')
  .option('--url <url>', 'connection string (default: $DATABASE_URL)')
  .option('--dir <dir>', 'migrations directory', MIGRATIONS_DIR)
  .parse();

const opts = program.opts<{ url?: string; dir: string }>();
const url = opts.url ?? process.env['DATABASE_URL'];
if (url === undefined || url === '') {
  console.error('migrate: give --url or set DATABASE_URL');
  process.exit(2);
}

const sql = postgres(url, { max: 1, onnotice: () => {} });
try {
  const { applied, skipped } = await migrate(sql, { dir: opts.dir });
  for (const name of skipped) console.log(`already applied  ${name}`);
  for (const name of applied) console.log(`applied          ${name}`);
  if (applied.length === 0) console.log('schema is up to date');
} catch (err) {
  console.error(`migrate: ${(err as Error).message}`);
  process.exitCode = 1;
} finally {
  await sql.end({ timeout: 5 });
}
