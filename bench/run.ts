/**
 * `npm run bench -- <suite> [options]`: named benches, each printing its
 * figures next to a baseline measured in the same run, then one JSON line.
 */
import { Command, InvalidArgumentError } from 'commander';
import { runClusterBench } from './cluster.bench.js';
import { runHistoryBench } from './history.bench.js';
import { runIngestBench } from './ingest.bench.js';
import { runKernelBench } from './kernel.bench.js';
import { runOrdersBench } from './orders.bench.js';
import { runRecoveryBench } from './recovery.bench.js';
import { runSimBench } from './sim.bench.js';
import { runSnapshotBench } from './snapshots.bench.js';
import { runVenuesBench } from './venues.bench.js';
import { runWsBench } from './ws.bench.js';

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

program.command('sim')
  .description('Monte Carlo paths/s on the worker pool, against vectorized NumPy on the same bootstrap and simplified rules')
  .option('--paths <n>', 'paths per run', int, 1_000_000)
  .option('--trades <n>', 'trades per path', int, 100)
  .option('--workers <n>', 'worker threads', int, 2)
  .option('--repeats <n>', 'runs of each measurement', int, 3)
  .option('--python <cmd>', 'Python with NumPy', 'python3')
  .action(async (o: { paths: number; trades: number; workers: number; repeats: number; python: string }) => {
    const { runs, figures: r } = await runSimBench(o);
    const runsOf = (xs: number[]) => `runs ${xs.map((x) => fmt(x)).join(' / ')}`;
    print(`sim (${fmt(r.paths!)} paths × ${fmt(r.trades!)} trades, ${o.workers} workers, medians of ${o.repeats})`, [
      ['NumPy vectorized, simplified rules', fmt(r.numpyPathsPerSec!), runsOf(runs.numpy!)],
      ['pool, simplified rules (paths/s)', fmt(r.jsPathsPerSec!), runsOf(runs.js!)],
      ['pool / NumPy', `${fmt(r.ratio!, 2)}×`, `target ≥ 2×: ${r.ratio! >= 2 ? 'PASS' : 'MISS'}`],
      ['pass probability: pool / NumPy', `${fmt(100 * r.jsPass!, 2)}% / ${fmt(100 * r.numpyPass!, 2)}%`, `${fmt(r.passDiffInSe!, 1)} standard errors apart`],
      ['full rules, two-step-100k (paths/s)', fmt(r.twoStepPathsPerSec!), `${fmt(r.twoStepCost!, 2)}× the simplified cost`],
      ['full rules, one-step-50k (paths/s)', fmt(r.oneStepPathsPerSec!), `${fmt(r.oneStepCost!, 2)}× the simplified cost`],
    ], r);
  });

program.command('ingest')
  .description('ticks from JetStream to verdict on 2 shard workers, against a bare ordered consumer of the same stream')
  .option('--ticks <n>', 'ticks in the stream', int, 300_000)
  .option('--assessments <n>', 'assessments, each with open positions', int, 20_000)
  .option('--workers <n>', 'shard workers', int, 2)
  .option('--repeats <n>', 'runs of each measurement, alternating', int, 3)
  .option('--max-in-flight <n>', 'unapplied inputs a shard may hold before the driver waits', int, 20_000)
  .option('--seed <n>', 'seed', int, 1)
  .option('--url <url>', 'NATS server (a scratch stream is created and deleted)', process.env['NATS_URL'] ?? '127.0.0.1:4222')
  .action(async (o: { ticks: number; assessments: number; workers: number; repeats: number; maxInFlight: number; seed: number; url: string }) => {
    const { runs, figures: r } = await runIngestBench(o);
    const runsOf = (xs: number[]) => `runs ${xs.map((x) => fmt(x)).join(' / ')}`;
    const pct = (x: number) => `${fmt(100 * x, 1)}%`;
    print(`ingest (${fmt(r.ticks!)} ticks, ${fmt(r.assessments!)} assessments, ${fmt(r.positions!)} positions, ${o.workers} workers, medians of ${o.repeats})`, [
      ['ceiling: bare consume ticks/s', fmt(r.ceilingTicksPerSec!), runsOf(runs.ceiling)],
      ['decode only: JetStreamTickSource', fmt(r.decodeTicksPerSec!), runsOf(runs.decode)],
      ['engine: JetStream to verdict', fmt(r.engineTicksPerSec!), runsOf(runs.engine)],
      ['engine / ceiling', pct(r.ratio!), `target ≥ 70%: ${r.ratio! >= 0.7 ? 'PASS' : 'MISS'}`],
      ['decode only / ceiling', pct(r.decodeRatio!)],
      ['diag.: engine, coalesced submits', fmt(r.coalescedTicksPerSec!), `${pct(r.coalescedRatio!)} · ${runsOf(runs.coalesced)}`],
      ['actor evaluations per tick', fmt(r.actorEvaluationsPerTick!, 3)],
      ['breaches / fills per engine run', `${fmt(r.breaches!)} / ${fmt(r.fills!)}`, 'the same in every run'],
      ['fill stream / set up (s)', `${fmt(r.fillSeconds!, 1)} / ${fmt(r.setupSeconds!, 1)}`],
    ], r);
  });

program.command('history')
  .description('History read model: ingest events/s against the engine\'s event rate in the same run, and the time to make a report of 10,000 trades')
  .option('--trades <n>', 'round trips of the reported assessment', int, 10_000)
  .option('--assessments <n>', 'other assessments', int, 2_000)
  .option('--per-assessment <n>', 'round trips of each other assessment', int, 20)
  .option('--workers <n>', 'shard workers', int, 2)
  .option('--repeats <n>', 'report builds timed', int, 5)
  .option('--baseline-rate <n>', 'events/s the ingest must reach: the ingest bench\'s event rate', int, 300)
  .option('--url <url>', 'Postgres server (a scratch database is created and dropped)', process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  .action(async (o: { trades: number; assessments: number; perAssessment: number; workers: number; repeats: number; baselineRate: number; url: string }) => {
    const r = await runHistoryBench(o);
    print(`history (${fmt(r.historyEvents!)} events of ${fmt(o.assessments + 1)} assessments; report of ${fmt(r.reportTrades!)} trades, median of ${o.repeats})`, [
      ['history: events ingested/s', fmt(r.ingestEventsPerSec!), `target ≥ ${fmt(o.baselineRate)} (the ingest bench's event rate): ${r.ingestEventsPerSec! >= o.baselineRate ? 'PASS' : 'MISS'}`],
      ['engine: events emitted/s (burst)', fmt(r.engineEventsPerSec!), `${fmt(r.engineEvents!)} events in ${fmt(r.engineSeconds!, 1)} s, every account trading every step`],
      ['ingest / engine burst', `${fmt(r.ingestOverEngine!, 2)}×`],
      ['report: build + HTML (ms)', fmt(r.reportMs!, 1), `target < 200 ms: ${r.reportMs! < 200 ? 'PASS' : 'MISS'} · max ${fmt(r.reportMaxMs!, 1)}`],
      ['report page (bytes)', fmt(r.htmlBytes!)],
      ['pass probability by day (ms)', fmt(r.passMs!), `${fmt(r.passDays!)} days, simulation pool (1 worker)`],
    ], r);
  });

program.command('venues')
  .description('one venue connector: WebSocket frames read, normalized, checked and published to JetStream, against the bare publish of the same ticks')
  .option('--messages <n>', 'Binance bookTicker frames per run', int, 200_000)
  .option('--repeats <n>', 'runs of each measurement, alternating', int, 3)
  .option('--url <url>', 'NATS server (scratch memory streams are created and deleted)', process.env['NATS_URL'] ?? '127.0.0.1:4222')
  .action(async (o: { messages: number; repeats: number; url: string }) => {
    const { runs, figures: r } = await runVenuesBench(o);
    const runsOf = (xs: number[]) => `runs ${xs.map((x) => fmt(x)).join(' / ')}`;
    print(`venues (${fmt(r.messages!)} frames, medians of ${o.repeats})`, [
      ['bare JetStream publish msgs/s', fmt(r.barePerSec!), runsOf(runs.bare)],
      ['connector: read to acked publish', fmt(r.connectorPerSec!), runsOf(runs.connector)],
      ['connector / bare publish', `${fmt(100 * r.ratio!, 1)}%`],
      ['diag.: connector, no publish', fmt(r.noPublishPerSec!), runsOf(runs.noPublish)],
      ['load average (1 min)', fmt(r.loadAverage!, 2), 'other processes share the cores'],
    ], r);
  });

program.command('snapshots')
  .description('100k assessment snapshots to Postgres in one checkpoint of the fenced checkpoint store, against a bare batched upsert')
  .option('--assessments <n>', 'assessments', int, 100_000)
  .option('--url <url>', 'Postgres server (a scratch database is created and dropped)', process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  .action(async (o: { assessments: number; url: string }) => {
    const r = await runSnapshotBench(o);
    print(`snapshots (${fmt(r.rows!)} assessments, ${fmt(r.avgStateBytes!)} B of state each)`, [
      ['checkpoint: insert all (s)', fmt(r.storeInsertSeconds!, 2), 'target < 2 s'],
      ['baseline: bare upsert insert (s)', fmt(r.bareInsertSeconds!, 2)],
      ['checkpoint / baseline, insert', `${fmt(r.insertRatio!, 2)}×`, 'target ≤ 1.5×'],
      ['checkpoint: update all (s)', fmt(r.storeUpdateSeconds!, 2), 'target < 2 s'],
      ['baseline: bare upsert update (s)', fmt(r.bareUpdateSeconds!, 2)],
      ['checkpoint / baseline, update', `${fmt(r.updateRatio!, 2)}×`, 'target ≤ 1.5×'],
      ['load all back (s)', fmt(r.loadSeconds!, 2)],
    ], r);
  });

program.command('orders')
  .description('durably acknowledged orders/s and ack latency through EngineNode.offer, against the bare Postgres journal write')
  .option('--rates <list>', 'offered rates of the open-loop runs, orders/s', (v: string) => v.split(',').map(int), [1_000, 10_000, 25_000, 50_000])
  .option('--seconds <n>', 'length of each run', int, 3)
  .option('--window <n>', 'orders in flight in the closed-loop run', int, 4_096)
  .option('--repeats <n>', 'runs of each rate', int, 3)
  .option('--assessments <n>', 'assessments, created through offer() first', int, 10_000)
  .option('--tick-rate <n>', 'ticks/s on the market log meanwhile', int, 300)
  .option('--workers <n>', 'shard workers', int, 2)
  .option('--max-batch <n>', "the node's maxJournalBatch", int, 2_048)
  .option('--checkpoint-ms <n>', "the node's checkpoint interval (0: none)", (v: string) => (v === '0' ? 0 : int(v)), 5_000)
  .option('--url <url>', 'Postgres server (a scratch database is created and dropped)', process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  .action(async (o: { rates: number[]; seconds: number; window: number; repeats: number; assessments: number; tickRate: number; workers: number; maxBatch: number; checkpointMs: number; url: string }) => {
    const { text, figures } = await runOrdersBench(o);
    process.stdout.write(text);
    process.stdout.write(`${JSON.stringify({ bench: 'orders', ...figures })}\n`);
  });

program.command('recovery')
  .description('EngineNode.start on 100k checkpointed assessments, a journal backlog and 60 s of ticks, against reading and parsing the states')
  .option('--assessments <n>', 'assessments in the checkpoint', int, 100_000)
  .option('--seconds <n>', 'feed time of ticks after the checkpoint', int, 60)
  .option('--journal <n>', 'journal entries after the checkpoint', int, 5_000)
  .option('--repeats <n>', 'recoveries (and baselines), alternating', int, 3)
  .option('--workers <n>', 'shard workers', int, 2)
  .option('--url <url>', 'Postgres server (a scratch database is created and dropped)', process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  .action(async (o: { assessments: number; seconds: number; journal: number; repeats: number; workers: number; url: string }) => {
    const { figures: r, runs } = await runRecoveryBench(o);
    const runsOf = (xs: number[]) => `runs ${xs.map((x) => fmt(x, 2)).join(' / ')}`;
    print(`recovery (${fmt(r.assessments!)} assessments, ${fmt(r.stateMiB!)} MiB of state, ${fmt(r.marketInputs!)} market inputs = ${fmt(r.ticks!)} ticks in ${o.seconds} s + clocks, ${fmt(r.journalEntries!)} journal entries; ${o.workers} workers, medians of ${o.repeats})`, [
      ['claim + load checkpoint (s)', fmt(r.claimLoad!, 2), runsOf(runs['claimLoad']!)],
      ['restore engine (s)', fmt(r.restore!, 2), `Engine.restore: split + spawn; ${runsOf(runs['restore']!)}`],
      ['journal read (s)', fmt(r.journalRead!, 2), runsOf(runs['journalRead']!)],
      ['replay to ready (s)', fmt(r.replay!, 2), runsOf(runs['replay']!)],
      ['total: start to node.ready (s)', fmt(r.ready!, 2), `target < ${r.targetSeconds} s: ${r.ready! < r.targetSeconds! ? 'PASS' : 'MISS'}; ${runsOf(runs['ready']!)}`],
      ['  then shards caught up (s)', fmt(r.shardsCaughtUp!, 2), `worker boot + restore + apply; ${runsOf(runs['shardsCaughtUp']!)}`],
      ['total: start to all applied (s)', fmt(r.applied!, 2), `target < ${r.targetSeconds} s: ${r.applied! < r.targetSeconds! ? 'PASS' : 'MISS'}; ${runsOf(runs['applied']!)}`],
      ['baseline: select state + parse (s)', fmt(r.baseline!, 2), runsOf(runs['baseline']!)],
      ['node.ready / baseline', `${fmt(r.readyVsBaseline!, 1)}×`],
      ['diag.: Engine.restore alone (s)', fmt(r.restoreOnly!, 2), runsOf(runs['restoreOnly']!)],
      ['set up (s)', fmt(r.setupSeconds!, 1), `load average ${fmt(r.loadAverage!, 1)} at start`],
    ], r);
  });

program.command('ws')
  .description('5,000 WebSocket clients on the gateway (uWS + StreamHub), 10 frames/s each from a real engine node, against the same fan-out on the ws package')
  .option('--clients <n>', 'clients (own trader and assessment each), in their own process', int, 5_000)
  .option('--seconds <n>', 'measurement window', int, 15)
  .option('--warmup <n>', 'fan-out before the window, s', int, 5)
  .option('--floor-seconds <n>', 'engine-only window (nobody subscribed), s', int, 5)
  .option('--tick-rate <n>', 'ticks/s published to the market log', int, 1_000)
  .option('--flush-ms <n>', "the engine's delta flush interval: frames/s per client = 1000 / this", int, 100)
  .option('--repeats <n>', 'server processes of each kind, alternating', int, 3)
  .option('--workers <n>', 'shard workers', int, 2)
  .option('--ring-size <n>', "the hub's resume ring per assessment (its default)", int, 512)
  .option('--url <url>', 'Postgres server (a scratch database per server process)', process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  .action(async (o: { clients: number; seconds: number; warmup: number; floorSeconds: number; tickRate: number; flushMs: number; repeats: number; workers: number; ringSize: number; url: string }) => {
    const { figures: { uws: g, ws: b }, runs } = await runWsBench(o);
    const both = (k: string, d = 0) => `${fmt(g[k]!, d)} / ${fmt(b[k]!, d)}`;
    const runsOf = (k: string, d = 0) => `runs ${runs.uws.map((r) => fmt(r[k]!, d)).join(' / ')} | ws ${runs.ws.map((r) => fmt(r[k]!, d)).join(' / ')}`;
    const pass = { p99: g['p99']! < 15, cpu: g['cpuUsPerFrame']! <= 0.5 * b['cpuUsPerFrame']!, memory: g['rssPerConn']! < 2_048 };
    const verdict = (ok: boolean) => (ok ? 'PASS' : 'MISS');
    const json: Record<string, number> = { pass: Object.values(pass).every(Boolean) ? 1 : 0, passP99: +pass.p99, passCpu: +pass.cpu, passMemory: +pass.memory };
    for (const [k, v] of Object.entries(g)) json[`gateway_${k}`] = v;
    for (const [k, v] of Object.entries(b)) json[`ws_${k}`] = v;
    print(`ws (${fmt(o.clients)} clients, ${fmt((o.clients * 1000) / o.flushMs)} frames/s offered, ${fmt(o.tickRate)} ticks/s, flush ${o.flushMs} ms, ring ${o.ringSize}; gateway / ws baseline, medians of ${o.repeats} server processes each)`, [
      ['frames/s delivered', both('framesPerSec'), `skipped ${both('dropped')}, seq gaps ${both('gaps')}`],
      ['tick-to-frame p50 (ms)', both('p50', 1), runsOf('p50', 1)],
      ['tick-to-frame p99 (ms)', both('p99', 1), `target < 15 ms: ${verdict(pass.p99)}; ${runsOf('p99', 1)}`],
      ['  engine p50 / p99 (ms)', `${fmt(g['engP50']!, 1)} / ${fmt(g['engP99']!, 1)}`, `ws ${fmt(b['engP50']!, 1)} / ${fmt(b['engP99']!, 1)}: publish to delta batch on the main thread`],
      ['  fan-out p50 / p99 (ms)', `${fmt(g['fanP50']!, 1)} / ${fmt(g['fanP99']!, 1)}`, `ws ${fmt(b['fanP50']!, 1)} / ${fmt(b['fanP99']!, 1)}: batch on the main thread to client receipt`],
      ['server CPU per frame (µs)', both('cpuUsPerFrame', 1), `target ≤ half the baseline's: ${verdict(pass.cpu)} (${fmt(g['cpuUsPerFrame']! / b['cpuUsPerFrame']!, 2)}×); ${runsOf('cpuUsPerFrame', 1)}`],
      ['  user / kernel per frame (µs)', `${fmt(g['userUsPerFrame']!, 1)} / ${fmt(g['sysUsPerFrame']!, 1)}`, `ws ${fmt(b['userUsPerFrame']!, 1)} / ${fmt(b['sysUsPerFrame']!, 1)}: kernel time is mostly the socket writes (on loopback the sender also runs the receiver's TCP path)`],
      ['  main thread per frame (µs)', both('mainUsPerFrame', 1), 'the fan-out thread alone'],
      ['  net of the engine floor (µs)', both('netUsPerFrame', 1), `floor ${both('floorUsPerDelta', 1)} µs per delta, nobody subscribed`],
      ['memory per idle connection (B)', both('rssPerConn'), `RSS; target < 2,048: ${verdict(pass.memory)}; ${runsOf('rssPerConn')}`],
      ['  heap + external per connection (B)', both('heapPerConn'), runsOf('heapPerConn')],
      ['deltas per flush / dispatch p50 (ms)', `${fmt(g['batch']!)} / ${fmt(g['dispatchP50']!, 1)}`, `ws ${fmt(b['batch']!)} / ${fmt(b['dispatchP50']!, 1)}: one shard's batch, sent in one loop turn`],
      ['main loop delay p99 / max (ms)', `${fmt(g['loopP99']!, 0)} / ${fmt(g['loopMax']!, 0)}`, `ws ${fmt(b['loopP99']!, 0)} / ${fmt(b['loopMax']!, 0)}`],
      ['GC ms/s; heap at end (MiB)', `${fmt(g['gcMsPerSec']!, 0)}; ${fmt(g['heapEndMiB']!, 0)}`, `ws ${fmt(b['gcMsPerSec']!, 0)}; ${fmt(b['heapEndMiB']!, 0)}`],
      ['cores: server / main / clients', `${fmt(g['serverCores']!, 2)} / ${fmt(g['mainCores']!, 2)} / ${fmt(g['clientCores']!, 2)}`, `ws ${fmt(b['serverCores']!, 2)} / ${fmt(b['mainCores']!, 2)} / ${fmt(b['clientCores']!, 2)}`],
      ['set-up / connect / subscribe (s)', `${fmt(g['setupSeconds']!, 1)} / ${fmt(g['connectSeconds']!, 1)} / ${fmt(g['subscribeSeconds']!, 1)}`, `ws ${fmt(b['setupSeconds']!, 1)} / ${fmt(b['connectSeconds']!, 1)} / ${fmt(b['subscribeSeconds']!, 1)}`],
    ], json);
    if (g['unmatched']! + b['unmatched']! + g['parseMismatches']! + b['parseMismatches']! > 0) process.stderr.write('bench: some frames could not be matched to their tick or were misparsed\n');
  });

program.command('cluster')
  .description('3 engine nodes and 2 gateways as processes: orders/s through the gateways, rebalance after a join and a kill with the pause of a moved shard, against one process of role all')
  .option('--assessments <n>', 'assessments, created on their shards\' intake', int, 100_000)
  .option('--nodes <n>', 'engine nodes before the join', int, 3)
  .option('--gateways <n>', 'gateway processes', int, 2)
  .option('--traders <n>', 'bot traders (a WebSocket each, one order in flight)', int, 200)
  .option('--seconds <n>', 'throughput window', int, 15)
  .option('--tick-pause-ms <n>', 'pause after each round of 5 ticks', int, 50)
  .option('--lease-ttl-ms <n>', 'CLUSTER_LEASE_TTL_MS of the nodes', int, 10_000)
  .option('--no-baseline', 'skip the single-process baseline')
  .option('--url <url>', 'Postgres server (scratch databases are created and dropped)', process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres')
  .option('--nats-url <url>', 'NATS server (scratch streams in their own namespace)', process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222')
  .action(async (o: { assessments: number; nodes: number; gateways: number; traders: number; seconds: number; tickPauseMs: number; leaseTtlMs: number; baseline: boolean; url: string; natsUrl: string }) => {
    const { text, figures } = await runClusterBench(o);
    process.stdout.write(text);
    process.stdout.write(`${JSON.stringify({ bench: 'cluster', ...figures })}\n`);
  });

await program.parseAsync();
