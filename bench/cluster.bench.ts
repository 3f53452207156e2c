/**
 * Cluster bench: engine nodes (`ENGINE_ROLE=engine NODE_ID=…`) and gateways
 * (`ENGINE_ROLE=gateway`) as processes on this machine, on the local NATS
 * and a scratch Postgres database, with `--assessments` accounts created on
 * their shards' intake. Bot traders (one WebSocket each, closed loop: the
 * next order when the last is answered) place market orders through the
 * gateways while ticks flow.
 *
 * Measured, in one run:
 * 1. **Orders/s through the gateways** over `--seconds`, with ack latency,
 *    and the write rates behind them: journal rows/s, checkpoint rows/s
 *    (Postgres' own counters), events/s on the event stream.
 * 2. **Rebalance after a join**: a node started under load, from its spawn
 *    (and from its first answer) until every shard is served once and nothing
 *    moves; shards moved; the pause of a moved shard (last answer before to
 *    first after, as the cluster test measures it).
 * 3. **Rebalance after a kill**: a node SIGKILLed under load, until its
 *    shards are served again (the lease TTL is in it); the pause likewise.
 * 4. Memory per 1,000 assessments per node (RSS before and after creating).
 *
 * Baseline, same machine, same run: one process of role `all` (node and
 * gateway, no NODE_ID), the same assessments, the same bots: its orders/s
 * and latency. On 2 cores the cluster's extra processes and hops cost more
 * than the extra nodes bring: the figure that matters here is the pause.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type postgres from 'postgres';
import { shardOf } from '../engine/index.js';
import { BotTraders } from '../engine/test/chaos/bot-traders.js';
import { ChaosLoad } from '../engine/test/chaos/chaos-load.js';
import { ClusterObserver } from '../engine/test/chaos/cluster-observer.js';
import { ClusterProcesses } from '../engine/test/chaos/cluster-processes.js';
import { pauseTargets } from '../engine/test/chaos/cluster-report.js';
import { pauseOf, percentile } from '../engine/test/chaos/pause-figures.js';
import { createAssessments } from '../engine/test/chaos/shard-intake.js';
import { createTestDatabase } from '../engine/testing/index.js';

export interface ClusterBenchOptions {
  /** @default 100_000 */ readonly assessments: number;
  /** Engine nodes before the join. @default 3 */ readonly nodes: number;
  /** @default 2 */ readonly gateways: number;
  /** Bot traders (a WebSocket each, one order in flight). @default 200 */ readonly traders: number;
  /** Length of the throughput window, s. @default 15 */ readonly seconds: number;
  /** Pause after each round of 5 ticks, ms. @default 50 */ readonly tickPauseMs: number;
  /** @default 10_000 */ readonly leaseTtlMs: number;
  /** Run the single-process baseline. @default true */ readonly baseline: boolean;
  /** Postgres server (scratch databases are created and dropped). */ readonly url: string;
  /** NATS server (scratch streams, own namespace). */ readonly natsUrl: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const rssOf = (pid: number | undefined): number => {
  try {
    return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) * 1024;
  } catch {
    return NaN;
  }
};

/** Rows written so far (Postgres' statistics) to the journal and to checkpoints (snapshots + checkpoint rows). */
async function pgWrites(sql: postgres.Sql): Promise<{ journal: number; checkpoint: number }> {
  const rows = await sql<
    { relname: string; n: string }[]
  >`select relname, (n_tup_ins + n_tup_upd)::text as n from pg_stat_user_tables where relname in ('journal', 'snapshots', 'checkpoints')`;
  const of = (r: string) => Number(rows.find((x) => x.relname === r)?.n ?? 0);
  return { journal: of('journal'), checkpoint: of('snapshots') + of('checkpoints') };
}

/** The load of one system under test: a tick feed, a database, the bots; measured over a window. */
async function measureWindow(bots: BotTraders, sql: postgres.Sql, load: ChaosLoad, seconds: number): Promise<Record<string, number>> {
  await sleep(3_000); // warm-up: every bot connected and placing
  const t0 = performance.now();
  const w0 = await pgWrites(sql);
  const e0 = (await load.jsm.streams.info(load.eventStream)).state.messages;
  const m0 = await load.marketTail();
  await sleep(seconds * 1000);
  const t1 = performance.now();
  const w1 = await pgWrites(sql);
  const e1 = (await load.jsm.streams.info(load.eventStream)).state.messages;
  const m1 = await load.marketTail();
  const s = (t1 - t0) / 1000;
  const inWindow = [...bots.acked.values()].filter((a) => a.at >= t0 && a.at < t1);
  const lat = inWindow.map((a) => a.latencyMs);
  return {
    ordersPerSec: inWindow.length / s,
    p50: percentile(lat, 50),
    p99: percentile(lat, 99),
    journalRowsPerSec: (w1.journal - w0.journal) / s,
    checkpointRowsPerSec: (w1.checkpoint - w0.checkpoint) / s,
    eventsPerSec: (e1 - e0) / s,
    ticksPerSec: (m1 - m0) / s,
  };
}

/** Pauses of the shards that moved in [start, end], over the bots' answers. */
function movePauses(bots: BotTraders, observer: ClusterObserver, start: number, end: number): { moved: number; pauses: number[] } {
  const moved = new Set(
    observer.log
      .moves()
      .filter((m) => m.at >= start && m.at <= end + 1)
      .map((m) => m.shard),
  );
  const pauses: number[] = [];
  for (const shard of moved) {
    const p = pauseOf(bots.answers.get(shard), { start, end });
    if (p !== undefined) pauses.push(p);
  }
  return { moved: moved.size, pauses };
}

function env(db: string, natsUrl: string, load: ChaosLoad, secret: string, leaseTtlMs: number): Record<string, string> {
  return {
    NATS_URL: natsUrl,
    DATABASE_URL: db,
    NATS_NAMESPACE: load.namespace,
    ENGINE_GROUP: load.group,
    MARKET_STREAM: load.marketStream,
    EVENT_STREAM: load.eventStream,
    CLOCK_BEAT: 'off',
    LOG_LEVEL: process.env['CLUSTER_BENCH_LOG_LEVEL'] ?? 'warn', // the nodes' logs: /tmp/bench-cluster-*-engine.log
    CLUSTER_LEASE_TTL_MS: String(leaseTtlMs),
    GATEWAY_JWT_SECRET: secret,
    GATEWAY_ADDRESS_REQUESTS_PER_MINUTE: '100000000',
    GATEWAY_ADDRESS_CONNECTIONS_PER_MINUTE: '100000000',
    GATEWAY_TRADER_FRAMES_PER_SECOND: '100000',
    SIM_ESTIMATE_INTERVAL_MS: '0',
  };
}

/** One system under test: the cluster (`nodes` > 0) or one process of role `all`. */
async function runSystem(o: ClusterBenchOptions, cluster: boolean): Promise<Record<string, number>> {
  const id = randomBytes(3).toString('hex');
  const db = await createTestDatabase({ serverUrl: o.url, prefix: 'vatic_bench_', max: 2 });
  const load = await ChaosLoad.start({
    namespace: `bench-${id}`,
    group: `bench-${id}`,
    marketStream: `BENCH_CL_MKT_${id}`,
    eventStream: `BENCH_CL_EV_${id}`,
    assessments: 0,
    natsUrl: o.natsUrl,
    tickPauseMs: o.tickPauseMs,
  });
  const secret = randomBytes(32).toString('hex');
  const procs = new ClusterProcesses({ id: `bench-cluster-${id}`, env: env(db.url, o.natsUrl, load, secret, o.leaseTtlMs) });
  const observer = new ClusterObserver({ nodes: () => procs.opsUrls() });
  const bots = new BotTraders({
    gateways: () => procs.gatewayUrls(),
    secret,
    prefix: `k${id}-`,
    traders: o.traders,
    pauseMs: 0,
    price: (s) => load.price(s),
  });
  const out: Record<string, number> = {};
  const log = (line: string) => process.stderr.write(`[cluster bench] ${cluster ? 'cluster' : 'single'}: ${line}\n`);
  try {
    let t = performance.now();
    if (cluster) {
      for (let i = 0; i < o.nodes; i++) await procs.addNode();
      for (let i = 0; i < o.gateways; i++) await procs.addGateway();
      await observer.settled([...procs.nodes.keys()], { timeoutMs: 300_000 });
    } else {
      await procs.addSolo('single');
    }
    await waitReady(procs);
    out['startSeconds'] = (performance.now() - t) / 1000;
    const pids = cluster ? [...procs.nodes.values()].map((n) => n.supervisor.pid) : [procs.gateways.get('single')!.supervisor.pid];
    const rss0 = pids.map(rssOf);
    t = performance.now();
    log(`up in ${out['startSeconds'].toFixed(1)} s; creating ${o.assessments} assessments`);
    await createAssessments(
      load.nc,
      load.namespace,
      Array.from({ length: o.assessments }, (_, i) => ({
        assessmentId: bots.assessmentOf(i),
        traderId: bots.traderOf(i),
        tierId: 'one-step-50k',
      })),
      { concurrency: 512, timeoutMs: 1_800_000 },
    );
    out['createPerSec'] = o.assessments / ((performance.now() - t) / 1000);
    await sleep(5_000);
    const rss1 = pids.map(rssOf);
    // Memory per 1,000 assessments: each node's RSS growth over the assessments its shards hold.
    const perNode = cluster ? [...procs.nodes.keys()].map((n) => [...(observer.latest.get(n)?.serving.keys() ?? [])]) : [[]];
    const held = cluster
      ? perNode.map((shards) => {
          const s = new Set(shards);
          let k = 0;
          for (let i = 0; i < o.assessments; i++) if (s.has(shardOf(bots.assessmentOf(i)))) k++;
          return k;
        })
      : [o.assessments];
    out['mibPer1000'] = percentile(
      rss1.map((r, i) => (r - rss0[i]!) / 1_048_576 / (held[i]! / 1000)),
      50,
    );
    out['rssMiB'] = percentile(
      rss1.map((r) => r / 1_048_576),
      50,
    );
    log(`created at ${out['createPerSec'].toFixed(0)}/s; RSS per node ${out['rssMiB'].toFixed(0)} MiB; placing orders`);
    bots.start();
    Object.assign(out, await measureWindow(bots, db.sql, load, o.seconds));
    log(`${out['ordersPerSec']!.toFixed(0)} orders/s, p99 ${out['p99']!.toFixed(1)} ms`);
    if (cluster) {
      // A join under load.
      const spawnAt = performance.now();
      const joined = (await procs.addNode()).name;
      const settledJoin = await observer.settled([...procs.nodes.keys()], { minShare: 1, stableMs: 3_000, timeoutMs: 300_000 });
      const firstAnswer = observer.log.moves().find((m) => m.to === joined)?.at ?? settledJoin;
      const join = movePauses(bots, observer, spawnAt, settledJoin);
      Object.assign(out, {
        joinFromSpawnSeconds: (settledJoin - spawnAt) / 1000,
        joinFromFirstMoveSeconds: (settledJoin - firstAnswer) / 1000,
        joinMoved: join.moved,
        joinPauseP50: percentile(join.pauses, 50),
        joinPauseP99: percentile(join.pauses, 99),
        joinPauseN: join.pauses.length,
      });
      log(`join settled in ${out['joinFromSpawnSeconds']!.toFixed(1)} s, ${join.moved} shards moved`);
      await sleep(5_000);
      // A kill under load.
      const victim = [...procs.nodes.keys()][0]!;
      const killAt = performance.now();
      await procs.kill(victim);
      observer.gone(victim);
      const settledKill = await observer.settled([...procs.nodes.keys()], { stableMs: 3_000, timeoutMs: o.leaseTtlMs + 300_000 });
      const kill = movePauses(bots, observer, killAt, settledKill);
      Object.assign(out, {
        killSeconds: (settledKill - killAt) / 1000,
        killMoved: kill.moved,
        killPauseP50: percentile(kill.pauses, 50),
        killPauseP99: percentile(kill.pauses, 99),
        killPauseN: kill.pauses.length,
      });
      log(`kill settled in ${out['killSeconds']!.toFixed(1)} s, ${kill.moved} shards moved`);
    }
    return out;
  } finally {
    await bots.stop().catch(() => undefined);
    await observer.stop();
    await procs.stopAll();
    await load.close();
    await db.drop();
  }

  async function waitReady(p: ClusterProcesses): Promise<void> {
    const end = Date.now() + 300_000;
    while (
      !(
        await Promise.all(
          p.gatewayUrls().map((u) =>
            fetch(u.replace('ws://', 'http://').replace('/v1/ws', '/readyz')).then(
              (r) => r.ok,
              () => false,
            ),
          ),
        )
      ).every(Boolean)
    ) {
      if (Date.now() > end) throw new Error('gateways not ready in 300 s');
      await sleep(200);
    }
  }
}

/** Run the bench; the figures and the text to print. */
export async function runClusterBench(o: ClusterBenchOptions): Promise<{ text: string; figures: Record<string, number> }> {
  const loadAverage = loadavg()[0]!;
  const c = await runSystem(o, true);
  const s = o.baseline ? await runSystem(o, false) : {};
  const fmt = (n: number | undefined, d = 0) =>
    n === undefined || !Number.isFinite(n) ? '-' : n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });
  const targets = pauseTargets(o.leaseTtlMs);
  const verdict = (x: number | undefined, target: number) =>
    x === undefined || !Number.isFinite(x) ? 'NOT MEASURED' : x < target ? 'MET' : 'MISS';
  const rows: Array<[string, string, string?]> = [
    [
      'orders/s through the gateways',
      `${fmt(c['ordersPerSec'])} / ${fmt(s['ordersPerSec'])}`,
      `cluster / single process; ${fmt((c['ordersPerSec'] ?? NaN) / (s['ordersPerSec'] ?? NaN), 2)}×`,
    ],
    ['ack latency p50 / p99 (ms)', `${fmt(c['p50'], 1)} / ${fmt(c['p99'], 1)}`, `single ${fmt(s['p50'], 1)} / ${fmt(s['p99'], 1)}`],
    [
      'rebalance after a join (s)',
      fmt(c['joinFromSpawnSeconds'], 1),
      `from spawn (process start included); from its first shard ${fmt(c['joinFromFirstMoveSeconds'], 1)} s; ${fmt(c['joinMoved'])} shards moved`,
    ],
    [
      '  pause of a moved shard p50 / p99 (ms)',
      `${fmt(c['joinPauseP50'])} / ${fmt(c['joinPauseP99'])}`,
      `over ${fmt(c['joinPauseN'])} shards with traffic; target p99 < ${fmt(targets.graceful)} ms: ${verdict(c['joinPauseP99'], targets.graceful)}`,
    ],
    [
      'rebalance after a kill (s)',
      fmt(c['killSeconds'], 1),
      `lease TTL ${fmt(o.leaseTtlMs / 1000, 1)} s included; ${fmt(c['killMoved'])} shards moved`,
    ],
    [
      '  pause of a moved shard p50 / p99 (ms)',
      `${fmt(c['killPauseP50'])} / ${fmt(c['killPauseP99'])}`,
      `over ${fmt(c['killPauseN'])} shards with traffic; target p99 < TTL + 5 s = ${fmt(targets.crash)} ms: ${verdict(c['killPauseP99'], targets.crash)}`,
    ],
    ['journal rows/s (window)', `${fmt(c['journalRowsPerSec'])} / ${fmt(s['journalRowsPerSec'])}`, 'cluster / single'],
    [
      'checkpoint rows/s (window)',
      `${fmt(c['checkpointRowsPerSec'])} / ${fmt(s['checkpointRowsPerSec'])}`,
      'snapshot + checkpoint rows written',
    ],
    ['events/s on the event stream', `${fmt(c['eventsPerSec'])} / ${fmt(s['eventsPerSec'])}`],
    ['ticks/s on the market stream', `${fmt(c['ticksPerSec'])} / ${fmt(s['ticksPerSec'])}`, 'every node reads every tick'],
    [
      'memory per 1,000 assessments (MiB)',
      `${fmt(c['mibPer1000'], 2)} / ${fmt(s['mibPer1000'], 2)}`,
      `RSS growth per node over what it holds; RSS ${fmt(c['rssMiB'])} / ${fmt(s['rssMiB'])} MiB`,
    ],
    ['assessments created/s', `${fmt(c['createPerSec'])} / ${fmt(s['createPerSec'])}`, "on the shards' intake subjects"],
    ['start-up (s)', `${fmt(c['startSeconds'], 1)} / ${fmt(s['startSeconds'], 1)}`, `load average ${fmt(loadAverage, 1)} at start`],
  ];
  const text = [
    `\ncluster (${fmt(o.assessments)} assessments, ${o.nodes} nodes + 1 joining, ${o.gateways} gateways, ${fmt(o.traders)} bot traders, ${o.seconds} s window; cluster / single process)`,
    ...rows.map(([k, v, note]) => `  ${k.padEnd(40)} ${v.padStart(18)}${note ? `   ${note}` : ''}`),
  ].join('\n');
  const figures: Record<string, number> = { assessments: o.assessments, nodes: o.nodes, traders: o.traders, loadAverage };
  for (const [k, v] of Object.entries(c)) figures[`cluster_${k}`] = v;
  for (const [k, v] of Object.entries(s)) figures[`single_${k}`] = v;
  return { text: `${text}\n`, figures };
}
