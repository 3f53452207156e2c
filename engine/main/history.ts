/**
 * `npm run history -- <command>`: the history read model and reports from
 * the command line.
 *
 * - `rebuild`: empty the history tables and fold the events stream and the
 *   market stream in again (NATS_URL, DATABASE_URL; NATS_NAMESPACE,
 *   EVENT_STREAM, MARKET_STREAM as `npm run serve` takes them).
 * - `report <assessmentId> [--html f] [--pdf f] [--json f] [--store]`: the
 *   assessment's report from the history (DATABASE_URL); the pass
 *   probability by day runs on a local simulation pool (`--no-pass` skips it).
 * - `tape <assessmentId> [--out f]`: the assessment's inputs as a tape for
 *   `npm run replay` (NATS_URL for the market log, DATABASE_URL for the journal).
 */
import { writeFile } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import postgres from 'postgres';
import { presetTiers } from '../../actors/index.js';
import { PgHistoryReader, PgHistoryStore, PgReportStore, migrate } from '../../persistence/index.js';
import { SimPool, replaySource, printPdf, renderAssessmentReport, ReportService } from '../../sim/index.js';
import { cutTape, rebuildHistory, natsServer } from '../../transport/nats/index.js';
import { formatTape } from '../index.js';

function need(name: string): string {
  const v = process.env[name];
  if (v === undefined || v === '') {
    process.stderr.write(`history: set ${name}\n`);
    process.exit(2);
  }
  return v;
}

function positive(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 100 || n > 1_000_000) throw new InvalidArgumentError('a whole number from 100 to 1,000,000');
  return n;
}

async function withDb<T>(f: (sql: postgres.Sql) => Promise<T>): Promise<T> {
  const sql = postgres(need('DATABASE_URL'), { max: 4, onnotice: () => {}, connect_timeout: 5 });
  try {
    await migrate(sql);
    return await f(sql);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

async function withNats<T>(
  f: (js: ReturnType<typeof jetstream>, jsm: Awaited<ReturnType<typeof jetstreamManager>>) => Promise<T>,
): Promise<T> {
  const nc = await connect({ ...natsServer(need('NATS_URL')), name: 'history-cli' });
  try {
    return await f(jetstream(nc), await jetstreamManager(nc));
  } finally {
    await nc.drain().catch(() => nc.close());
  }
}

const env = process.env;
const program = new Command('history').description('The history read model and assessment reports');

program
  .command('rebuild')
  .description('Empty the history tables and rebuild them from the events and market streams')
  .action(async () => {
    const started = Date.now();
    const r = await withDb((sql) =>
      withNats((js, jsm) =>
        rebuildHistory({
          js,
          jsm,
          store: new PgHistoryStore(sql),
          namespace: env['NATS_NAMESPACE'] ?? '',
          eventStream: env['EVENT_STREAM'] ?? 'EVENTS',
          marketStream: env['MARKET_STREAM'] ?? 'MARKET',
        }),
      ),
    );
    process.stdout.write(`${JSON.stringify({ ...r, seconds: (Date.now() - started) / 1000 })}\n`);
  });

program
  .command('report')
  .description("Build an assessment's report from the history")
  .argument('<assessmentId>')
  .option('--html <file>', 'write the HTML page')
  .option('--pdf <file>', 'print the page to PDF in headless Chromium (CHROMIUM_PATH, default /usr/bin/chromium)')
  .option('--json <file>', 'write the report as JSON (default: to stdout when no file is asked for)')
  .option('--store', 'also store it, as a report made on request', false)
  .option('--paths <n>', 'Monte Carlo paths per day of the pass probability', positive, 2_000)
  .option('--no-pass', 'skip the pass probability by day')
  .action(async (id: string, o: { html?: string; pdf?: string; json?: string; store: boolean; paths: number; pass: boolean }) => {
    const pool = o.pass ? new SimPool({ workers: 1 }) : undefined;
    try {
      const code = await withDb(async (sql) => {
        const service = new ReportService({
          reader: new PgHistoryReader(sql),
          store: new PgReportStore(sql),
          tiers: () => presetTiers(),
          passPaths: o.paths,
          replay: (a) => replaySource(a, undefined, env['NATS_URL'] !== undefined),
          ...(pool === undefined ? {} : { simulator: pool }),
        });
        const report = await service.build(id, 'request', { passProbability: o.pass });
        if (report === undefined) {
          process.stderr.write(`history: no history of assessment '${id}'\n`);
          return 1;
        }
        if (o.store)
          await new PgReportStore(sql).insert({
            assessmentId: id,
            traderId: report.traderId,
            kind: 'request',
            trigger: 'request',
            status: report.summary.status,
            body: report,
          });
        const html = renderAssessmentReport(report);
        if (o.html !== undefined) await writeFile(o.html, html);
        if (o.pdf !== undefined) await writeFile(o.pdf, await printPdf(html));
        if (o.json !== undefined) await writeFile(o.json, `${JSON.stringify(report, null, 2)}\n`);
        if (o.html === undefined && o.pdf === undefined && o.json === undefined) process.stdout.write(`${JSON.stringify(report)}\n`);
        return 0;
      });
      process.exitCode = code;
    } finally {
      await pool?.close();
    }
  });

program
  .command('tape')
  .description("Cut an assessment's inputs from the market log and the journal as a tape for npm run replay")
  .argument('<assessmentId>')
  .option('--out <file>', 'write the tape here (default: stdout)')
  .action(async (id: string, o: { out?: string }) => {
    const inputs = await withDb((sql) =>
      withNats((js, jsm) =>
        cutTape({ js, jsm, sql, assessmentId: id, namespace: env['NATS_NAMESPACE'] ?? '', marketStream: env['MARKET_STREAM'] ?? 'MARKET' }),
      ),
    );
    const text = `# Tape of assessment ${id}, cut from the market log and the journal (npm run history -- tape).\n${formatTape(inputs)}`;
    if (o.out === undefined) process.stdout.write(text);
    else await writeFile(o.out, text);
  });

program.parseAsync().catch((err: unknown) => {
  const message = err instanceof Error ? err.message : String(err);
  // The streams are made by the engine nodes: a rebuild or a tape before any ran has nothing to read.
  const hint = /stream not found/.test(message)
    ? ` (stream ${env['EVENT_STREAM'] ?? 'EVENTS'} or ${env['MARKET_STREAM'] ?? 'MARKET'}${env['NATS_NAMESPACE'] ? ` in namespace ${env['NATS_NAMESPACE']}` : ''}: an engine node on NATS_URL creates them)`
    : '';
  process.stderr.write(`history: ${message}${hint}\n`);
  process.exit(1);
});
