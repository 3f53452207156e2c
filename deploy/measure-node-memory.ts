/**
 * Memory of a serving engine process per 1,000 assessments, the figure the
 * engine pods' resources are sized from (deploy/README.md, deploy/capacity.md):
 *
 *   npm run build && npx tsx deploy/measure-node-memory.ts --steps 0,25000,50000,100000
 *
 * Starts the compiled `serve` (the image's command, role all, gateway off)
 * against NATS and Postgres on this machine (a scratch database and stream
 * names of its own, dropped at the end), creates assessments through the
 * node's NATS intake in steps, lets a checkpoint or two pass after each, and
 * prints the process's resident memory (VmRSS and VmHWM, worker threads
 * included) at each step, then the least-squares MiB per 1,000.
 */
import { Decoder, Encoder } from '@msgpack/msgpack';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Command } from 'commander';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { linearRegression } from 'simple-statistics';
import { presetTiers } from '../actors/index.js';
import { testServerUrl } from '../engine/testing/index.js';
import { intakeSubjects } from '../transport/nats/index.js';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const opts = new Command('measure-node-memory')
  .option('--steps <list>', 'assessment counts to measure at', '0,25000,50000,100000')
  .option('--workers <n>', 'ENGINE_WORKERS', '2')
  .option('--nats <url>', 'NATS', 'nats://127.0.0.1:4222')
  .parse()
  .opts<{ steps: string; workers: string; nats: string }>();
const steps = opts.steps.split(',').map(Number);

const id = randomBytes(4).toString('hex');
const dbName = `vatic_memory_${id}`;
const admin = postgres(testServerUrl(), { max: 1, onnotice: () => {} });
await admin.unsafe(`create database ${dbName}`);
const dbUrl = Object.assign(new URL(testServerUrl()), { pathname: `/${dbName}` }).toString();
const namespace = `mem${id}`;
const streams = { MARKET_STREAM: `MEM_${id}_MARKET`, EVENT_STREAM: `MEM_${id}_EVENTS` };
const proc = spawn(process.execPath, ['--initial-old-space-size=256', 'dist/engine/main/image-entry.js', 'all'], {
  cwd: ROOT,
  stdio: ['ignore', 'ignore', 'inherit'],
  env: {
    ...process.env,
    NATS_URL: opts.nats,
    DATABASE_URL: dbUrl,
    NATS_NAMESPACE: namespace,
    ...streams,
    GATEWAY_PORT: 'off',
    ENGINE_WORKERS: opts.workers,
    CHECKPOINT_INTERVAL_MS: '2000',
    LOG_LEVEL: 'error',
  },
});
const rss = (): { rss: number; hwm: number } => {
  const s = readFileSync(`/proc/${proc.pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`${k}:\\s+(\\d+)`).exec(s)![1]) / 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
};
const nc = await connect({ servers: opts.nats });
const subject = intakeSubjects('default', namespace).intake;
const enc = new Encoder();
const dec = new Decoder();
const tiers = presetTiers().map((t) => t.id);
const settle = () => new Promise((r) => setTimeout(r, 6_000)); // two checkpoints

try {
  // The node answers intake once it has recovered.
  for (let i = 0; ; i++) {
    const r = await nc
      .request(subject, enc.encode({ kind: 'create', assessmentId: 'probe', traderId: 'probe', tierId: tiers[0] }), { timeout: 2_000 })
      .catch(() => undefined);
    if (r !== undefined && (dec.decode(r.data) as { ok: boolean; code?: string }).code !== 'NOT_READY') break;
    if (i > 120) throw new Error('the node did not answer intake in 4 minutes');
    await new Promise((res) => setTimeout(res, 2_000));
  }
  const points: [number, number][] = [];
  let made = 0;
  for (const target of steps) {
    const inFlight = new Set<Promise<unknown>>();
    while (made < target) {
      const n = made++;
      const p = nc
        .request(
          subject,
          enc.encode({ kind: 'create', assessmentId: `mem-${n}`, traderId: `trader-${n}`, tierId: tiers[n % tiers.length] }),
          { timeout: 120_000 },
        )
        .then((m) => {
          const r = dec.decode(m.data) as { ok: boolean; code?: string };
          if (!r.ok) throw new Error(`create refused: ${r.code}`);
        });
      inFlight.add(p);
      // Removed when settled; a refusal surfaces through the race or the final wait.
      p.then(
        () => inFlight.delete(p),
        () => inFlight.delete(p),
      );
      if (inFlight.size >= 256) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    await settle();
    const m = rss();
    points.push([target / 1000, m.rss]);
    process.stdout.write(
      `${String(target).padStart(8)} assessments  RSS ${m.rss.toFixed(0).padStart(5)} MiB  peak ${m.hwm.toFixed(0).padStart(5)} MiB\n`,
    );
  }
  const fit = linearRegression(points);
  process.stdout.write(`fit: ${fit.b.toFixed(0)} MiB + ${fit.m.toFixed(2)} MiB per 1,000 assessments (ENGINE_WORKERS=${opts.workers})\n`);
} finally {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.once('exit', r));
  await nc.close();
  const jsm = await jetstreamManager(await connect({ servers: opts.nats }));
  for (const s of Object.values(streams)) await jsm.streams.delete(s).catch(() => undefined);
  await admin.unsafe(`drop database if exists ${dbName} with (force)`);
  await admin.end({ timeout: 5 });
  process.exit(0);
}
