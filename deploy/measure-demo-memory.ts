/**
 * Resident memory of `npm start` (the demo: 5,000 assessments, bot traders,
 * the synthetic feed, the gateway, embedded Postgres) once it has settled,
 * beside the 500 MiB target, MET or MISS:
 *
 *   npm run build && npx tsx deploy/measure-demo-memory.ts
 *   npx tsx deploy/measure-demo-memory.ts --runs compiled,tsx,flag-everywhere --seconds 60
 *
 * Each run starts the demo as its own process, waits until it has created
 * its assessments, then samples VmRSS for `--seconds` and reports the median
 * and the peak (VmHWM), with the demo's own split of the last second: the
 * main thread's V8 heap, its memory outside V8 (buffers, the embedded
 * Postgres's WebAssembly memory) and the shard workers' heaps.
 *
 * Runs: `compiled` is what `npm start` runs (dist/, the V8 flag on the main
 * thread only); `tsx` the same from source under tsx; `flag-everywhere` the
 * compiled demo with the flag left on every isolate (before this change);
 * `no-flag` without the flag at all; `arena-2` and `arena-default` with glibc's
 * malloc arenas capped at 2 or left at its default (8 per core, one per
 * thread that mallocs). `--baseline <dir>` adds `baseline`, the demo from a
 * copy of an earlier build, to alternate before and after a change:
 *
 *   cp -r dist dist-before   # before the change
 *   npm run build && npx tsx deploy/measure-demo-memory.ts --baseline dist-before --runs baseline,compiled,baseline,compiled
 */
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const TARGET_MIB = 500;
const RUNS: Record<string, { argv: string[]; env?: Record<string, string> }> = {
  compiled: { argv: ['--initial-old-space-size=256', 'dist/engine/main/start.js'] },
  tsx: { argv: ['--import', 'tsx', '--initial-old-space-size=256', 'engine/main/start.ts'] },
  'flag-everywhere': { argv: ['--initial-old-space-size=256', 'dist/engine/main/start.js'], env: { VATIC_V8_FLAGS_EVERY_ISOLATE: '1' } },
  'no-flag': { argv: ['dist/engine/main/start.js'] },
  'arena-2': { argv: ['--initial-old-space-size=256', 'dist/engine/main/start.js'], env: { MALLOC_ARENA_MAX: '2' } },
  'arena-default': { argv: ['--initial-old-space-size=256', 'dist/engine/main/start.js'], env: { MALLOC_ARENA_MAX: '' } },
};

const opts = new Command('measure-demo-memory')
  .option('--runs <list>', `runs, in order (${Object.keys(RUNS).join(', ')})`, 'compiled')
  .option('--seconds <n>', 'sampling window after the assessments exist', '40')
  .option('--assessments <n>', 'demo assessments', '5000')
  .option('--baseline <dir>', 'a copy of an earlier dist/ (inside the checkout): adds the run `baseline`, the demo started from it')
  .parse()
  .opts<{ runs: string; seconds: string; assessments: string; baseline?: string }>();
if (opts.baseline !== undefined)
  RUNS['baseline'] = {
    argv: ['--initial-old-space-size=256', `${opts.baseline.replace(/\/$/, '')}/engine/main/start.js`],
    env: { MALLOC_ARENA_MAX: '' },
  };

interface Memory {
  rssMiB: number;
  mainHeapMiB: number;
  mainExternalMiB: number;
  shardHeapMiB: number;
}

async function measure(name: string): Promise<void> {
  const run = RUNS[name];
  if (run === undefined) throw new Error(`no run ${name} (runs: ${Object.keys(RUNS).join(', ')})`);
  const seconds = Number(opts.seconds);
  const proc = spawn(process.execPath, [...run.argv, '--json', '--assessments', opts.assessments], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, ...run.env, LOG_LEVEL: 'error' },
  });
  const status = (): { rss: number; hwm: number } => {
    const s = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
    const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)![1]) / 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  };
  const samples: number[] = [];
  let last: Memory | undefined;
  let settledAt: number | undefined;
  const started = Date.now();
  try {
    for await (const line of createInterface({ input: proc.stdout! })) {
      const s = JSON.parse(line) as {
        type: string;
        active: number;
        passed: number;
        failed: number;
        otherEnded: number;
        assessments: number;
        memory?: Memory;
      };
      if (s.type !== 'summary') continue;
      // Settled: every demo assessment exists (active counts the ones not yet ended).
      if (settledAt === undefined && s.active + s.passed + s.failed + s.otherEnded >= s.assessments) settledAt = Date.now();
      if (settledAt === undefined) {
        if (Date.now() - started > 300_000) throw new Error('the demo did not create its assessments in 5 minutes');
        continue;
      }
      samples.push(status().rss);
      last = s.memory;
      if (Date.now() - settledAt >= seconds * 1000) break;
    }
    const { hwm } = status();
    samples.sort((a, b) => a - b);
    const median = samples[Math.floor(samples.length / 2)] ?? Number.NaN;
    const verdict = median < TARGET_MIB ? 'MET' : 'MISS';
    process.stdout.write(
      `${name.padEnd(16)} RSS median ${median.toFixed(0).padStart(5)} MiB   target < ${TARGET_MIB} MiB: ${verdict}   peak ${hwm.toFixed(0)} MiB` +
        `   main heap ${last?.mainHeapMiB ?? '-'} + outside V8 ${last?.mainExternalMiB ?? '-'}, shard heaps ${last?.shardHeapMiB ?? '-'} MiB   (set up ${((settledAt! - started) / 1000).toFixed(0)} s)\n`,
    );
  } finally {
    proc.kill('SIGINT');
    await new Promise((r) => proc.once('exit', r));
  }
}

process.stdout.write(`load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} at start\n`);
for (const name of opts.runs.split(',')) await measure(name);
