/**
 * `npm run bench -- <suite> [options]`: named benches, each printing its
 * figures next to a baseline measured in the same run, then one JSON line.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runKernelBench } from './kernel.bench.js';
import { runSnapshotBench } from './snapshots.bench.js';

function int(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a positive whole number');
  return n;
}

function print(title: string, rows: Array<[string, string, string?]>, json: Record<string, number>): void {
  process.stdout.write(`\n${title}\n`);
  for (const [k, v, target] of rows) process.stdout.write(`  ${k.padEnd(34)} ${v.padStart(14)}${target ? `   ${target}` : ''}\n`);
  process.stdout.write(`${JSON.stringify({ bench: title.split(' ')[0], ...json })}\n`);
}

const fmt = (n: number, d = 0) => n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

const program = new Command('bench').description('Engine benchmarks');

program.command('kernel')
  .description('100k assessments over 10 symbols on 2 shard workers, against a plain mark-everything loop')
  .option('--assessments <n>', 'assessments', int, 100_000)
  .option('--workers <n>', 'shard workers', int, 2)
  .option('--ticks <n>', 'ticks at full speed', int, 1_000_000)
  .option('--verify-ticks <n>', 'ticks also run through the baseline and checked breach by breach', int, 20_000)
  .option('--paced-rate <n>', 'ticks/s of the latency phase', int, 50_000)
  .option('--paced-seconds <n>', 'length of the latency phase', int, 5)
  .option('--seed <n>', 'seed', int, 1)
  .action(async (o: { assessments: number; workers: number; ticks: number; verifyTicks: number; pacedRate: number; pacedSeconds: number; seed: number }) => {
    const r = await runKernelBench(o);
    print(`kernel (${fmt(r.assessments!)} assessments, ${fmt(r.positions!)} positions, ${fmt(r.restingOrders!)} resting orders, ${o.workers} workers)`, [
      ['ticks/s sustained', fmt(r.ticksPerSec!), 'target ≥ 50,000'],
      ['position updates/s (marks implied)', fmt(r.positionUpdatesPerSec!)],
      ['actor evaluations per tick', fmt(r.actorEvaluationsPerTick!, 2)],
      ['baseline: plain loop ticks/s', fmt(r.baselineTicksPerSec!), '1 thread, marks every position'],
      ['speed-up over baseline', `${fmt(r.speedup!, 1)}×`],
      [`tick-to-verdict p50 @ ${fmt(r.pacedRate!)}/s (ms)`, fmt(r.p50Ms!, 3)],
      [`tick-to-verdict p99 @ ${fmt(r.pacedRate!)}/s (ms)`, fmt(r.p99Ms!, 3), 'target < 1 ms'],
      ['tick-to-verdict max (ms)', fmt(r.maxMs!, 3)],
      ['  of which in the shard p50 / p99 (ms)', `${fmt(r.inShardP50Ms!, 3)} / ${fmt(r.inShardP99Ms!, 3)}`, 'batch start to verdict'],
      ['baseline: bare thread hop p50 / p99', `${fmt(r.hopP50Ms!, 3)} / ${fmt(r.hopP99Ms!, 3)}`, `max ${fmt(r.hopMaxMs!, 1)} ms: this machine's floor`],
      ['shard heap per 1,000 actors (MiB)', fmt(r.heapMiBPer1000!, 2)],
      ['process RSS (MiB)', fmt(r.rssMiB!, 0), 'target < 1,024'],
      ['breaches verified against baseline', `${fmt(r.breachesMatched!)}/${fmt(r.breachesVerified!)}`, 'every one at the same tick'],
      ['breaches in the whole run', fmt(r.breachesTotal!)],
      ['setup (s)', fmt(r.setupSeconds!, 1)],
    ], r);
    if (r.breachesMatched !== r.breachesVerified) {
      process.stderr.write('bench: the engine and the baseline disagree on breaches\n');
      process.exitCode = 1;
    }
  });

program.command('snapshots')
  .description('100k assessment snapshots to Postgres through the fenced store, against a bare batched upsert')
  .option('--assessments <n>', 'assessments', int, 100_000)
  .option('--url <url>', 'Postgres server (a scratch database is created and dropped)', process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  .action(async (o: { assessments: number; url: string }) => {
    const r = await runSnapshotBench(o);
    print(`snapshots (${fmt(r.rows!)} assessments, ${fmt(r.avgStateBytes!)} B of state each)`, [
      ['store: insert all (s)', fmt(r.storeInsertSeconds!, 2), 'target < 2 s'],
      ['baseline: bare upsert insert (s)', fmt(r.bareInsertSeconds!, 2)],
      ['store / baseline, insert', `${fmt(r.insertRatio!, 2)}×`, 'target ≤ 1.5×'],
      ['store: update all (s)', fmt(r.storeUpdateSeconds!, 2), 'target < 2 s'],
      ['baseline: bare upsert update (s)', fmt(r.bareUpdateSeconds!, 2)],
      ['store / baseline, update', `${fmt(r.updateRatio!, 2)}×`, 'target ≤ 1.5×'],
      ['load all back (s)', fmt(r.loadSeconds!, 2)],
    ], r);
  });

await program.parseAsync();
