/**
 * The suites that run whole processes: the WebSocket gateway against the ws
 * package, and a cluster of engine nodes and gateways.
 */
import { runClusterBench } from './cluster.bench.js';
import { runWsBench } from './ws.bench.js';
import { pauseTargets } from '../engine/test/chaos/cluster-report.js';
import { fmt, int, printSuite, printTargets, type SuiteSpec } from './suite-spec.js';

// biome-ignore lint/suspicious/noExplicitAny: options arrive parsed from their specs
type Opts = any;

const pgUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const ws: SuiteSpec = {
  name: 'ws',
  description:
    '5,000 WebSocket clients on the gateway (uWS + StreamHub), 10 frames/s each from a solo cluster node composed as deployed, against the same fan-out on the ws package',
  options: [
    {
      flags: '--clients <n>',
      description: 'clients (own trader and assessment each), in their own process',
      parse: int,
      default: 5_000,
      quick: 1_000,
    },
    { flags: '--seconds <n>', description: 'measurement window', parse: int, default: 15, quick: 5 },
    { flags: '--warmup <n>', description: 'fan-out before the window, s', parse: int, default: 5, quick: 2 },
    { flags: '--floor-seconds <n>', description: 'engine-only window (nobody subscribed), s', parse: int, default: 5, quick: 2 },
    { flags: '--tick-rate <n>', description: 'ticks/s published to the market log', parse: int, default: 1_000 },
    {
      flags: '--flush-ms <n>',
      description: "the engine's delta flush interval: frames/s per client = 1000 / this",
      parse: int,
      default: 100,
    },
    { flags: '--repeats <n>', description: 'server processes of each kind, alternating', parse: int, default: 3, quick: 1 },
    { flags: '--workers <n>', description: 'shard workers', parse: int, default: 2 },
    { flags: '--ring-size <n>', description: "the hub's resume ring per assessment (its default)", parse: int, default: 512 },
    { flags: '--url <url>', description: 'Postgres server (a scratch database per server process)', default: pgUrl },
  ],
  async run(o: Opts, s) {
    const {
      figures: { uws: g, ws: b },
      runs,
    } = await runWsBench(o);
    const both = (k: string, d = 0) => `${fmt(g[k]!, d)} / ${fmt(b[k]!, d)}`;
    const runsOf = (k: string, d = 0) =>
      `runs ${runs.uws.map((r) => fmt(r[k]!, d)).join(' / ')} | ws ${runs.ws.map((r) => fmt(r[k]!, d)).join(' / ')}`;
    const worstP99 = Math.max(...runs.uws.map((r) => r['p99']!));
    const p99 = s.target('tick-to-frame p99 (every run)', worstP99, '<=', 15, 'ms');
    const cpu = s.target('CPU per frame / ws package', g['cpuUsPerFrame']! / b['cpuUsPerFrame']!, '<=', 0.5, '×');
    const memory = s.target('memory per idle connection', g['rssPerConn']!, '<', 2_048, 'B');
    const json: Record<string, number> = { pass: s.allMet ? 1 : 0 };
    for (const [k, v] of Object.entries(g)) json[`gateway_${k}`] = v;
    for (const [k, v] of Object.entries(b)) json[`ws_${k}`] = v;
    printSuite(
      s,
      `ws (${fmt(o.clients)} clients, ${fmt((o.clients * 1000) / o.flushMs)} frames/s offered, ${fmt(o.tickRate)} ticks/s, flush ${o.flushMs} ms, ring ${o.ringSize}; gateway / ws baseline, medians of ${o.repeats} server processes each)`,
      [
        ['frames/s delivered', both('framesPerSec'), `skipped ${both('dropped')}, seq gaps ${both('gaps')}`],
        ['tick-to-frame p50 (ms)', both('p50', 1), runsOf('p50', 1)],
        ['tick-to-frame p99 (ms)', both('p99', 1), `${p99} (worst run); ${runsOf('p99', 1)}`],
        [
          '  engine p50 / p99 (ms)',
          `${fmt(g['engP50']!, 1)} / ${fmt(g['engP99']!, 1)}`,
          `ws ${fmt(b['engP50']!, 1)} / ${fmt(b['engP99']!, 1)}: publish to delta batch on the main thread`,
        ],
        [
          '  fan-out p50 / p99 (ms)',
          `${fmt(g['fanP50']!, 1)} / ${fmt(g['fanP99']!, 1)}`,
          `ws ${fmt(b['fanP50']!, 1)} / ${fmt(b['fanP99']!, 1)}: batch on the main thread to client receipt`,
        ],
        ['server CPU per frame (µs)', both('cpuUsPerFrame', 1), `${cpu}; ${runsOf('cpuUsPerFrame', 1)}`],
        [
          '  user / kernel per frame (µs)',
          `${fmt(g['userUsPerFrame']!, 1)} / ${fmt(g['sysUsPerFrame']!, 1)}`,
          `ws ${fmt(b['userUsPerFrame']!, 1)} / ${fmt(b['sysUsPerFrame']!, 1)}: kernel time is mostly the socket writes (on loopback the sender also runs the receiver's TCP path)`,
        ],
        ['  main thread per frame (µs)', both('mainUsPerFrame', 1), 'the fan-out thread alone'],
        ['  net of the engine floor (µs)', both('netUsPerFrame', 1), `floor ${both('floorUsPerDelta', 1)} µs per delta, nobody subscribed`],
        [
          'memory per idle connection (B)',
          both('rssPerConn'),
          `RSS less the young generation; ${memory}; ${runsOf('rssPerConn')}; raw RSS ${both('rssRawPerConn')}`,
        ],
        ['  heap + external per connection (B)', both('heapPerConn'), runsOf('heapPerConn')],
        [
          'deltas per flush / dispatch p50 (ms)',
          `${fmt(g['batch']!)} / ${fmt(g['dispatchP50']!, 1)}`,
          `ws ${fmt(b['batch']!)} / ${fmt(b['dispatchP50']!, 1)}: one shard's batch, sent in one loop turn`,
        ],
        [
          'main loop delay p99 / max (ms)',
          `${fmt(g['loopP99']!, 0)} / ${fmt(g['loopMax']!, 0)}`,
          `ws ${fmt(b['loopP99']!, 0)} / ${fmt(b['loopMax']!, 0)}`,
        ],
        [
          'GC ms/s; heap at end (MiB)',
          `${fmt(g['gcMsPerSec']!, 0)}; ${fmt(g['heapEndMiB']!, 0)}`,
          `ws ${fmt(b['gcMsPerSec']!, 0)}; ${fmt(b['heapEndMiB']!, 0)}`,
        ],
        [
          'cores: server / main / clients',
          `${fmt(g['serverCores']!, 2)} / ${fmt(g['mainCores']!, 2)} / ${fmt(g['clientCores']!, 2)}`,
          `ws ${fmt(b['serverCores']!, 2)} / ${fmt(b['mainCores']!, 2)} / ${fmt(b['clientCores']!, 2)}`,
        ],
        [
          'set-up / connect / subscribe (s)',
          `${fmt(g['setupSeconds']!, 1)} / ${fmt(g['connectSeconds']!, 1)} / ${fmt(g['subscribeSeconds']!, 1)}`,
          `ws ${fmt(b['setupSeconds']!, 1)} / ${fmt(b['connectSeconds']!, 1)} / ${fmt(b['subscribeSeconds']!, 1)}`,
        ],
      ],
      json,
    );
    if (g['unmatched']! + b['unmatched']! + g['parseMismatches']! + b['parseMismatches']! > 0)
      process.stderr.write('bench: some frames could not be matched to their tick or were misparsed\n');
  },
};

export const cluster: SuiteSpec = {
  name: 'cluster',
  description:
    '3 engine nodes and 2 gateways as processes: orders/s through the gateways, rebalance after a join and a kill with the pause of a moved shard, against one process of role all',
  options: [
    {
      flags: '--assessments <n>',
      description: "assessments, created on their shards' intake",
      parse: int,
      default: 100_000,
      quick: 10_000,
    },
    { flags: '--nodes <n>', description: 'engine nodes before the join', parse: int, default: 3 },
    { flags: '--gateways <n>', description: 'gateway processes', parse: int, default: 2 },
    { flags: '--traders <n>', description: 'bot traders (a WebSocket each, one order in flight)', parse: int, default: 200, quick: 50 },
    { flags: '--seconds <n>', description: 'throughput window', parse: int, default: 15, quick: 5 },
    { flags: '--tick-pause-ms <n>', description: 'pause after each round of 5 ticks', parse: int, default: 50 },
    { flags: '--lease-ttl-ms <n>', description: 'CLUSTER_LEASE_TTL_MS of the nodes', parse: int, default: 10_000, quick: 4_000 },
    { flags: '--no-baseline', description: 'skip the single-process baseline', default: true, quick: false },
    { flags: '--url <url>', description: 'Postgres server (scratch databases are created and dropped)', default: pgUrl },
    {
      flags: '--nats-url <url>',
      description: 'NATS server (scratch streams in their own namespace)',
      default: process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222',
    },
  ],
  async run(o: Opts, s) {
    const { text, figures } = await runClusterBench(o);
    process.stdout.write(text);
    s.figures(figures);
    const targets = pauseTargets(o.leaseTtlMs);
    s.target('pause of a moved shard after a join, p99', figures['cluster_joinPauseP99'] ?? Number.NaN, '<', targets.graceful, 'ms');
    s.target('pause of a moved shard after a kill, p99', figures['cluster_killPauseP99'] ?? Number.NaN, '<', targets.crash, 'ms');
    printTargets(s);
    process.stdout.write(`${JSON.stringify({ bench: 'cluster', ...figures })}\n`);
  },
};
