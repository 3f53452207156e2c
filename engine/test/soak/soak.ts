/**
 * `npm run test:soak -- --minutes 30`: a soak run. Starts `npm start`'s demo
 * (engine node, synthetic feed, bot traders, gateway) as its own process with
 * a probe preloaded (soak-probe.ts), connects 1,000 WebSocket clients that
 * subscribe and place orders, and every `--report-every` minutes prints RSS
 * and heap (and their slopes), event-loop delay p99, tick-to-verdict p99 and
 * the clients' figures. It fails (exit 1, with the reason) on a leak, on any
 * order left unanswered, or if the demo dies. A leak is the main thread's
 * heap after a forced full GC growing faster than `--leak-mib-per-min` by
 * both measures: its least-squares slope over the last half of the run, and
 * its peak growth (highest value of the last third over the highest of the
 * middle third, per minute). The second measure lets a bounded buffer that
 * fills and trims (a sawtooth: the embedded market log keeps up to 2 million
 * inputs, about 13 minutes of the demo's feed, then drops half) pass once it
 * has filled; before that, as in any run shorter than its warm-up, growth is
 * growth and the run fails.
 */
import { Command, InvalidArgumentError } from 'commander';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpus, loadavg } from 'node:os';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { linearRegression } from 'simple-statistics';
import { SoakClients } from './soak-clients.js';

/** Options of a soak run, as parsed from the command line. */
interface SoakOptions {
  /** @default 30 */
  readonly minutes: number;
  /** Minutes between reports. @default 5 */
  readonly reportEvery: number;
  /** @default 1000 */
  readonly clients: number;
  /** Orders per second from the clients, all together. @default 20 */
  readonly ordersPerSecond: number;
  /** Demo assessments (at least `clients`). @default 5000 */
  readonly assessments: number;
  /** The leak threshold, MiB per minute: heap-after-GC slope over the last half and peak growth (last third over middle third) both above it is a leak. @default 1 */
  readonly leakMibPerMin: number;
  /** Seconds between the forced full GCs that measure the heap. @default 30 */
  readonly gcEvery: number;
}

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const MiB = 2 ** 20;
const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('a positive number');
  return n;
};
const pct = (xs: number[], p: number) =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const f1 = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : '-');
const signed = (x: number) => (Number.isFinite(x) ? `${x >= 0 ? '+' : ''}${x.toFixed(2)}` : '-');
/** Least-squares slope of (ms, bytes) points, in MiB per minute; NaN under 3 points. */
const slope = (pts: Array<[number, number]>): number => (pts.length < 3 ? NaN : (linearRegression(pts).m * 60_000) / MiB);
const mmss = (ms: number) => `${Math.floor(ms / 60_000)}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;

/** One line of the probe (soak-probe.mjs). */
interface ProbeSample {
  readonly t: 'probe';
  /** Wall time, ms. */
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** Heap used right after a forced full GC, when this sample forced one. */
  readonly heapAfterGc?: number;
  /** Event-loop delay over the window so far, ms. */
  readonly eldP99Ms: number;
  readonly eldMaxMs: number;
  /** The last sample of its window. */
  readonly windowEnd: boolean;
}

interface DemoLine {
  type?: string;
  gatewayPort?: number;
  p99Ms?: number | null;
  shards?: Array<{ heapMiB: number }>;
  ticks?: number;
  inputs?: number;
}

async function soak(o: SoakOptions): Promise<number> {
  if (o.assessments < o.clients) throw new Error('--assessments must be at least --clients (one demo assessment per client)');
  const secret = randomBytes(32).toString('hex');
  const probe = fileURLToPath(new URL('./soak-probe.mjs', import.meta.url));
  const child = spawn(
    process.execPath,
    [
      '--expose-gc',
      '--initial-old-space-size=256',
      '--import',
      'tsx',
      '--import',
      probe,
      'engine/main/start.ts',
      '--json',
      '--port',
      '0',
      '--assessments',
      String(o.assessments),
    ],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
      // Every client comes from 127.0.0.1: one address holds the traffic of a thousand traders.
      env: {
        ...process.env,
        GATEWAY_ADDRESS_CONNECTIONS_PER_MINUTE: String(Math.max(300, o.clients * 4)),
        GATEWAY_JWT_SECRET: secret,
        SOAK_PROBE_FD: '3',
        SOAK_GC_EVERY_MS: String(o.gcEvery * 1000),
        SOAK_WINDOW_MS: String(o.reportEvery * 60_000),
      },
    },
  );
  let exited: string | undefined;
  child.once('exit', (code, signal) => (exited = `the demo exited (code ${code}, signal ${signal})`));

  // The demo's one-line-a-second JSON: its gateway port, tick-to-verdict p99, shard heaps.
  let port: number | undefined;
  let verdictP99: number[] = [];
  let shardHeapMiB: number[] = [];
  createInterface({ input: child.stdout! }).on('line', (l) => {
    let j: DemoLine;
    try {
      j = JSON.parse(l) as DemoLine;
    } catch {
      return;
    }
    if (j.type === 'config') port = j.gatewayPort ?? undefined;
    if (typeof j.p99Ms === 'number') verdictP99.push(j.p99Ms);
    if (j.shards !== undefined) shardHeapMiB = j.shards.map((s) => s.heapMiB);
  });
  // The probe's samples.
  const samples: ProbeSample[] = [];
  let windowDone: (s: ProbeSample) => void = () => undefined;
  createInterface({ input: child.stdio[3] as Readable }).on('line', (l) => {
    const s = JSON.parse(l) as ProbeSample;
    samples.push(s);
    if (s.windowEnd) windowDone(s);
  });

  const deadline = Date.now() + 180_000;
  while (port === undefined) {
    if (exited !== undefined || Date.now() > deadline) throw new Error(exited ?? 'the demo did not report its gateway port within 180 s');
    await new Promise((r) => setTimeout(r, 100));
  }
  const clients = new SoakClients({ url: `ws://127.0.0.1:${port}/v1/ws`, secret, count: o.clients });
  process.stdout.write(`soak: demo pid ${child.pid} on port ${port}; connecting ${o.clients} clients\n`);
  await clients.connectAll();
  process.stdout.write(
    `soak: ${clients.figures.subscribed}/${o.clients} clients subscribed; running ${o.minutes} min, a report every ${o.reportEvery} min\n`,
  );
  child.kill('SIGUSR2'); // the probe's first window starts now, start-up left out
  const start = Date.now();
  const end = start + o.minutes * 60_000;
  let owed = 0;
  const orders = setInterval(() => {
    owed += o.ordersPerSecond / 10;
    const n = Math.floor(owed);
    owed -= n;
    clients.placeOrders(n);
  }, 100);

  const report = (s: ProbeSample | undefined): { heapSlopeHalf: number; peakGrowth: number } => {
    const now = Date.now();
    const elapsed = now - start;
    const pts = (key: 'rss' | 'heapAfterGc', from: number) =>
      samples.filter((x) => x.at >= from && x[key] !== undefined).map((x): [number, number] => [x.at, x[key]!]);
    const half = start + elapsed / 2;
    const heapNow = samples.findLast((x) => x.heapAfterGc !== undefined)?.heapAfterGc;
    const lat = clients.takeLatencies();
    const c = clients.figures;
    const heapSlopeHalf = slope(pts('heapAfterGc', half));
    const peak = (from: number, to: number) =>
      Math.max(
        ...pts('heapAfterGc', from)
          .filter(([at]) => at < to)
          .map(([, b]) => b),
      );
    const third = elapsed / 3;
    const peakGrowth = (peak(start + 2 * third, now + 1) - peak(start + third, start + 2 * third)) / MiB / (third / 60_000);
    process.stdout.write(
      `${[
        `[soak ${mmss(elapsed)}] ${new Date(now).toISOString()} · load average ${loadavg()
          .map((x) => x.toFixed(2))
          .join(' ')} (${cpus().length} cores)`,
        `  rss               ${f1((samples.at(-1)?.rss ?? NaN) / MiB)} MiB · slope ${signed(slope(pts('rss', start)))} MiB/min (run) ${signed(slope(pts('rss', half)))} MiB/min (last half)`,
        `  heap after GC     ${f1((heapNow ?? NaN) / MiB)} MiB (main thread) · slope ${signed(slope(pts('heapAfterGc', start)))} MiB/min (run) ${signed(heapSlopeHalf)} MiB/min (last half) · peak growth ${signed(peakGrowth)} MiB/min (last third over middle third; leak: both above ${o.leakMibPerMin}) · shard heaps ${shardHeapMiB.join('/')} MiB`,
        `  event-loop delay  p99 ${f1(s?.eldP99Ms ?? NaN)} ms · max ${f1(s?.eldMaxMs ?? NaN)} ms (main thread, this window)`,
        `  tick→verdict      p99 per second: median ${f1(pct(verdictP99, 50))} ms · p99 ${f1(pct(verdictP99, 99))} ms · worst ${f1(Math.max(...verdictP99))} ms (${verdictP99.length} s)`,
        `  clients           ${c.subscribed}/${o.clients} subscribed · closes ${c.closes} · frames ${c.frames} (deltas ${c.deltas}, events ${c.events}) · errors ${c.errors} ${JSON.stringify(c.errorCodes)}`,
        `  orders            ${c.orders} sent · ack ${c.acks} · reject ${c.rejects} · refused ${c.refused} ${JSON.stringify(c.rejectCodes)} · unanswered ${c.unanswered} · answer p50 ${f1(pct(lat, 50))} ms p99 ${f1(pct(lat, 99))} ms`,
      ].join('\n')}\n`,
    );
    verdictP99 = [];
    return { heapSlopeHalf, peakGrowth };
  };

  let last: { heapSlopeHalf: number; peakGrowth: number } = { heapSlopeHalf: NaN, peakGrowth: NaN };
  let lastReportAt = 0;
  while (Date.now() < end && exited === undefined) {
    const s = await new Promise<ProbeSample | undefined>((resolve) => {
      windowDone = resolve;
      setTimeout(() => resolve(undefined), end - Date.now());
      child.once('exit', () => resolve(undefined));
    });
    if (s !== undefined || (exited === undefined && Date.now() - lastReportAt > 10_000)) {
      // a short last window, unless one just ended
      last = report(s ?? samples.at(-1));
      lastReportAt = Date.now();
    }
  }
  clearInterval(orders);
  await clients.settle(); // the last orders' answers
  if (exited === undefined && Date.now() - lastReportAt > 10_000) last = report(samples.at(-1));
  clients.close();
  const failures: string[] = [];
  if (exited !== undefined) failures.push(exited);
  if (!Number.isFinite(last.heapSlopeHalf) || !Number.isFinite(last.peakGrowth))
    failures.push('too few heap samples to judge a leak (run longer, or lower --gc-every)');
  else if (last.heapSlopeHalf > o.leakMibPerMin && last.peakGrowth > o.leakMibPerMin) {
    failures.push(
      `leak: the heap after GC grew ${last.heapSlopeHalf.toFixed(2)} MiB/min over the last half (least squares) and its peak ${last.peakGrowth.toFixed(2)} MiB/min from the middle to the last third (threshold ${o.leakMibPerMin})` +
        (o.minutes < 30
          ? '; a run this short may still be filling bounded buffers (the embedded market log takes about 13 minutes): run 30 minutes or more to tell'
          : ''),
    );
  }
  if (clients.figures.unanswered > 0) failures.push(`${clients.figures.unanswered} orders were never answered`);
  if (exited === undefined) {
    child.kill('SIGINT');
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    await new Promise((r) => child.once('exit', r));
    clearTimeout(killer);
  }
  process.stdout.write(failures.length === 0 ? 'soak: PASS\n' : `soak: FAIL\n${failures.map((f) => `  - ${f}`).join('\n')}\n`);
  return failures.length === 0 ? 0 : 1;
}

const program = new Command('test:soak')
  .description('soak run: the demo with its bots plus WebSocket clients; fails on a leak or an unanswered order')
  .option('--minutes <n>', 'run length in minutes', positive, 30)
  .option('--report-every <n>', 'minutes between reports', positive, 5)
  .option('--clients <n>', 'WebSocket clients', positive, 1000)
  .option('--orders-per-second <n>', 'orders per second from all clients together', positive, 20)
  .option('--assessments <n>', 'demo assessments (at least --clients)', positive, 5000)
  .option(
    '--leak-mib-per-min <n>',
    'leak threshold, MiB/min: heap-after-GC slope over the last half and peak growth both above it',
    positive,
    1,
  )
  .option('--gc-every <n>', 'seconds between the forced full GCs that measure the heap', positive, 30);
program.parse();
soak(program.opts<SoakOptions>()).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`soak: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
