/**
 * Every bench suite: its options (full and quick sizes), its table, and its
 * targets, each judged MET or MISS beside its figure.
 */
import { loadavg } from 'node:os';
import { runHistoryBench } from './history.bench.js';
import { runIngestBench } from './ingest.bench.js';
import { kernelTargets, PACED_SHARE, runKernelBench } from './kernel.bench.js';
import { runOrdersBench } from './orders.bench.js';
import { runRecoveryBench } from './recovery.bench.js';
import { runSimBench } from './sim.bench.js';
import { runSnapshotBench } from './snapshots.bench.js';
import { runStartupBench } from './startup.bench.js';
import { runVenuesBench } from './venues.bench.js';
import { fmt, int, intList, intOrZero, printSuite, runsOf, type SuiteSpec } from './suite-spec.js';

// biome-ignore lint/suspicious/noExplicitAny: options arrive parsed from their specs
type Opts = any;

const pgUrl = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const natsUrl = process.env['NATS_URL'] ?? 'nats://127.0.0.1:4222';
const pct = (x: number) => `${fmt(100 * x, 1)}%`;

const kernel: SuiteSpec = {
  name: 'kernel',
  description: '100k assessments over 10 symbols on 2 shard workers, against a plain mark-everything loop',
  options: [
    { flags: '--assessments <n>', description: 'assessments', parse: int, default: 100_000, quick: 5_000 },
    { flags: '--workers <n>', description: 'shard workers', parse: int, default: 2 },
    { flags: '--ticks <n>', description: 'ticks at full speed', parse: int, default: 1_000_000, quick: 60_000 },
    {
      flags: '--verify-ticks <n>',
      description: 'ticks also run through the baseline and checked breach by breach',
      parse: int,
      default: 20_000,
    },
    {
      flags: '--paced-rate <n>',
      description: 'ticks/s of the latency phase (half the sustained rate when above it)',
      parse: int,
      default: 50_000,
    },
    { flags: '--paced-seconds <n>', description: 'length of the latency phase', parse: int, default: 5, quick: 2 },
    { flags: '--seed <n>', description: 'seed', parse: int, default: 1 },
  ],
  async run(o: Opts, s) {
    const r = await runKernelBench({ ...o, progress: (m: string) => s.progress(m) });
    const goal = kernelTargets(r.assessments!);
    printSuite(
      s,
      `kernel (${fmt(r.assessments!)} assessments, ${fmt(r.positions!)} positions, ${fmt(r.restingOrders!)} resting orders, ${o.workers} workers)`,
      [
        ['ticks/s sustained', fmt(r.ticksPerSec!), s.target('ticks/s sustained', r.ticksPerSec!, '>=', goal.ticksPerSec)],
        ['position updates/s (marks implied)', fmt(r.positionUpdatesPerSec!)],
        ['actor evaluations per tick', fmt(r.actorEvaluationsPerTick!, 2)],
        ['baseline: plain loop ticks/s', fmt(r.baselineTicksPerSec!), '1 thread, marks every position'],
        ['speed-up over baseline', `${fmt(r.speedup!, 1)}×`],
        [
          `tick-to-verdict p50 @ ${fmt(r.pacedRate!)}/s (ms)`,
          fmt(r.p50Ms!, 3),
          r.pacedRate === r.pacedRateAsked
            ? ''
            : `paced at ${fmt(PACED_SHARE * 100)}% of the sustained rate: the asked ${fmt(r.pacedRateAsked!)}/s is above that`,
        ],
        [`tick-to-verdict p99 @ ${fmt(r.pacedRate!)}/s (ms)`, fmt(r.p99Ms!, 3), s.target('tick-to-verdict p99', r.p99Ms!, '<=', 1, 'ms')],
        ['tick-to-verdict max (ms)', fmt(r.maxMs!, 3)],
        ['  of which in the shard p50 / p99 (ms)', `${fmt(r.inShardP50Ms!, 3)} / ${fmt(r.inShardP99Ms!, 3)}`, 'batch start to verdict'],
        [
          '  queued in the shard p99 / max (ms)',
          `${fmt(r.queuedP99Ms!, 3)} / ${fmt(r.queuedMaxMs!, 1)}`,
          `send to batch start (hop + wait behind the shard's work); the shard's longest task ${fmt(r.busyBatchMaxMs!, 1)} ms, longest GC pause ${fmt(r.gcMaxMs!, 1)} ms`,
        ],
        [
          '    behind own work p99 / max (ms)',
          `${fmt(r.behindP99Ms!, 3)} / ${fmt(r.behindMaxMs!, 1)}`,
          'of the queue: the shard busy with earlier batches, acks, flushes (the rest is the hop)',
        ],
        [
          '  busiest shard at the paced rate',
          `${fmt(r.shardBusyShare! * 100, 1)}%`,
          'of the wall time applying batches: above its share of the cores, the queue grows',
        ],
        [
          '  longest ack copy (ms) / most events in one ack',
          `${fmt(r.longestAckMs!, 2)} / ${fmt(r.mostEventsPerAck!)}`,
          "the ack's postMessage: its events structured-cloned on the shard's thread",
        ],
        [
          'baseline: bare thread hop p50 / p99',
          `${fmt(r.hopP50Ms!, 3)} / ${fmt(r.hopP99Ms!, 3)}`,
          `max ${fmt(r.hopMaxMs!, 1)} ms: this machine's floor`,
        ],
        ['shard heap per 1,000 actors (MiB)', fmt(r.heapMiBPer1000!, 2)],
        ['process RSS (MiB)', fmt(r.rssMiB!, 0), s.target('process RSS', r.rssMiB!, goal.rssMiB < 6_144 ? '<' : '<=', goal.rssMiB, 'MiB')],
        [
          'peak process RSS (MiB)',
          fmt(r.peakRssMiB!, 0),
          goal.peakRssMiB === undefined
            ? 'with the states the baseline reads (as checkpoint rows)'
            : s.target('peak process RSS', r.peakRssMiB!, '<=', goal.peakRssMiB, 'MiB'),
        ],
        [
          'breaches matching the baseline',
          `${fmt(r.breachesMatched!)}/${fmt(r.breachesVerified!)}`,
          `unlike it: ${fmt(r.breachesVerified! - r.breachesMatched!)}, ` +
            s.target('breaches unlike the baseline', r.breachesVerified! - r.breachesMatched!, '<=', 0),
        ],
        ['  breaches in the verified window', fmt(r.breachesVerified!), s.target('breaches verified', r.breachesVerified!, '>=', 1)],
        ['breaches in the whole run', fmt(r.breachesTotal!)],
        [
          'setup (s)',
          fmt(r.setupSeconds!, 1),
          goal.setupSeconds === undefined ? '' : s.target('setup', r.setupSeconds!, '<', goal.setupSeconds, 's'),
        ],
        ['load average (1 min)', fmt(r.loadAverage!, 2), 'at the paced phase; other processes share the cores'],
      ],
      r,
    );
    if (r.breachesMatched !== r.breachesVerified) {
      process.stderr.write('bench: the engine and the baseline disagree on breaches\n');
      process.exitCode = 1;
    }
  },
};

const sim: SuiteSpec = {
  name: 'sim',
  description: 'Monte Carlo paths/s on the worker pool, against vectorized NumPy on the same bootstrap and simplified rules',
  options: [
    { flags: '--paths <n>', description: 'paths per run', parse: int, default: 1_000_000, quick: 200_000 },
    { flags: '--trades <n>', description: 'trades per path', parse: int, default: 100 },
    { flags: '--workers <n>', description: 'worker threads', parse: int, default: 2 },
    { flags: '--repeats <n>', description: 'runs of each measurement', parse: int, default: 3, quick: 1 },
    { flags: '--python <cmd>', description: 'Python with NumPy', default: 'python3' },
  ],
  async run(o: Opts, s) {
    const { runs, figures: r } = await runSimBench(o);
    printSuite(
      s,
      `sim (${fmt(r.paths!)} paths × ${fmt(r.trades!)} trades, ${o.workers} workers, medians of ${o.repeats})`,
      [
        [
          'NumPy vectorized, simplified rules',
          fmt(r.numpyPathsPerSec!),
          `pass probability only, every trade drawn; ${runsOf(runs.numpy!)}`,
        ],
        [
          'pool, simplified rules (paths/s)',
          fmt(r.jsPathsPerSec!),
          `pass probability only (outputs: []), paths end at their verdict; ${runsOf(runs.js!)}`,
        ],
        [
          'pool: CPU per path (ns)',
          fmt(r.jsWorkersCpuNsPerPath!),
          `workers (and V8's helper threads); the pool's thread ${fmt(r.jsMainCpuNsPerPath!)}`,
        ],
        ['pool / NumPy', `${fmt(r.ratio!, 2)}×`, s.target('pool / NumPy', r.ratio!, '>=', 2, '×')],
        [
          'pass probability: pool / NumPy',
          `${fmt(100 * r.jsPass!, 2)}% / ${fmt(100 * r.numpyPass!, 2)}%`,
          `${fmt(r.passDiffInSe!, 1)} standard errors apart`,
        ],
        [
          'pool, with risk of ruin (paths/s)',
          fmt(r.jsRuinPathsPerSec!),
          `every path on to the horizon; ${fmt(r.ruinRatio!, 2)}× NumPy; ${runsOf(runs.jsRuin!)}`,
        ],
        [
          'one worker (paths/s)',
          fmt(r.singleWorkerPathsPerSec!),
          `${runsOf(runs.single!)}; CPU per path ${fmt(r.singleWorkersCpuNsPerPath!)} ns, the pool's thread ${fmt(r.singleMainCpuNsPerPath!)} ns`,
        ],
        [
          `${o.workers} workers / one`,
          `${fmt(r.workerScaling!, 2)}×`,
          o.workers === 2 ? s.target('2 workers / 1', r.workerScaling!, '>=', 1.8, '×') : '',
        ],
        [
          'full rules, two-step-100k (paths/s)',
          fmt(r.twoStepPathsPerSec!),
          `${fmt(r.twoStepCost!, 2)}× the simplified cost with ruin; ${s.target('full rules cost, two-step', r.twoStepCost!, '<=', 1.2, '×')}`,
        ],
        [
          'full rules, one-step-50k (paths/s)',
          fmt(r.oneStepPathsPerSec!),
          `${fmt(r.oneStepCost!, 2)}× the simplified cost with ruin; ${s.target('full rules cost, one-step', r.oneStepCost!, '<=', 1.2, '×')}`,
        ],
        ['load average (1 min)', fmt(loadavg()[0]!, 2), 'at the end of the suite'],
      ],
      r,
    );
  },
};

const ingest: SuiteSpec = {
  name: 'ingest',
  description: 'ticks from JetStream to verdict on 2 shard workers, against a bare ordered consumer of the same stream',
  options: [
    { flags: '--ticks <n>', description: 'ticks in the stream', parse: int, default: 300_000, quick: 60_000 },
    { flags: '--assessments <n>', description: 'assessments, each with open positions', parse: int, default: 20_000, quick: 5_000 },
    { flags: '--workers <n>', description: 'shard workers', parse: int, default: 2 },
    { flags: '--repeats <n>', description: 'runs of each measurement, alternating', parse: int, default: 3, quick: 1 },
    { flags: '--max-in-flight <n>', description: 'unapplied inputs a shard may hold before the driver waits', parse: int, default: 20_000 },
    { flags: '--seed <n>', description: 'seed', parse: int, default: 1 },
    {
      flags: '--url <url>',
      description: 'NATS server (a scratch stream is created and deleted)',
      default: process.env['NATS_URL'] ?? '127.0.0.1:4222',
    },
    {
      flags: '--variants <list>',
      description: 'measurements to run, e.g. engine (to profile one); the target needs ceiling, callback and engine',
      default: 'ceiling,callback,decode,engine,iterator',
    },
  ],
  async run(o: Opts, s) {
    const { runs, figures: r } = await runIngestBench({ ...o, variants: String(o.variants).split(',') });
    const cpu = (k: string) =>
      [
        `main ${fmt(r[`${k}MainCpuUs`]!, 2)}`,
        `other threads ${fmt(r[`${k}OthersCpuUs`]!, 2)}`,
        `nats-server ${fmt(r[`${k}NatsCpuUs`]!, 2)}`,
        `(run-queue wait: main ${fmt(r[`${k}MainWaitUs`]!, 2)}, others ${fmt(r[`${k}OthersWaitUs`]!, 2)}, nats ${fmt(r[`${k}NatsWaitUs`]!, 2)})`,
      ].join(' · ');
    printSuite(
      s,
      `ingest (${fmt(r.ticks!)} ticks, ${fmt(r.assessments!)} assessments, ${fmt(r.positions!)} positions, ${o.workers} workers, medians of ${o.repeats}, load average ${fmt(s.results.loadAverage.start, 1)} at start)`,
      [
        ['ceiling: bare consume ticks/s', fmt(r.ceilingTicksPerSec!), runsOf(runs.ceiling)],
        ['diag.: bare consume, callback', fmt(r.callbackTicksPerSec!), `${runsOf(runs.callback)}; engine / this ${pct(r.callbackRatio!)}`],
        ['decode only: JetStreamTickSource', fmt(r.decodeTicksPerSec!), runsOf(runs.decode)],
        ['engine: JetStream to verdict', fmt(r.engineTicksPerSec!), runsOf(runs.engine)],
        ['engine / ceiling', pct(r.ratio!)],
        ['engine / fastest bare consumer', pct(r.bareRatio!), s.target('engine / bare consumer', 100 * r.bareRatio!, '>=', 70, '%')],
        ['decode only / ceiling', pct(r.decodeRatio!)],
        [
          'diag.: engine, per-message iterator',
          fmt(r.iteratorTicksPerSec!),
          `${pct(r.iteratorRatio!)} · ${runsOf(runs.iterator)} (the previous path)`,
        ],
        ['actor evaluations per tick', fmt(r.actorEvaluationsPerTick!, 3)],
        ['breaches / fills per engine run', `${fmt(r.breaches!)} / ${fmt(r.fills!)}`, 'the same in every run'],
        ['fill stream / set up (s)', `${fmt(r.fillSeconds!, 1)} / ${fmt(r.setupSeconds!, 1)}`],
        ['CPU µs per tick: ceiling', '', cpu('ceiling')],
        ['CPU µs per tick: callback', '', cpu('callback')],
        ['CPU µs per tick: decode only', '', cpu('decode')],
        ['CPU µs per tick: engine', '', cpu('engine')],
        ['CPU µs per tick: iterator', '', cpu('iterator')],
      ],
      r,
    );
  },
};

const history: SuiteSpec = {
  name: 'history',
  description:
    "History read model: ingest events/s against the engine's event rate in the same run, and the time to make a report of 10,000 trades",
  options: [
    { flags: '--trades <n>', description: 'round trips of the reported assessment', parse: int, default: 10_000, quick: 2_000 },
    { flags: '--assessments <n>', description: 'other assessments', parse: int, default: 2_000, quick: 500 },
    { flags: '--per-assessment <n>', description: 'round trips of each other assessment', parse: int, default: 20, quick: 10 },
    { flags: '--workers <n>', description: 'shard workers', parse: int, default: 2 },
    { flags: '--repeats <n>', description: 'report builds timed', parse: int, default: 5, quick: 3 },
    {
      flags: '--baseline-rate <n>',
      description: "events/s the ingest must reach: the ingest bench's event rate",
      parse: int,
      default: 300,
    },
    { flags: '--url <url>', description: 'Postgres server (a scratch database is created and dropped)', default: pgUrl },
  ],
  async run(o: Opts, s) {
    const r = await runHistoryBench(o);
    printSuite(
      s,
      `history (${fmt(r.historyEvents!)} events of ${fmt(o.assessments + 1)} assessments; report of ${fmt(r.reportTrades!)} trades, median of ${o.repeats})`,
      [
        [
          'history: events ingested/s',
          fmt(r.ingestEventsPerSec!),
          s.target('history ingest events/s', r.ingestEventsPerSec!, '>=', o.baselineRate),
        ],
        [
          'engine: events emitted/s (burst)',
          fmt(r.engineEventsPerSec!),
          `${fmt(r.engineEvents!)} events in ${fmt(r.engineSeconds!, 1)} s, every account trading every step`,
        ],
        ['ingest / engine burst', `${fmt(r.ingestOverEngine!, 2)}×`],
        [
          'report: build + HTML (ms)',
          fmt(r.reportMs!, 1),
          `${s.target('report build + HTML', r.reportMs!, '<', 200, 'ms')} · max ${fmt(r.reportMaxMs!, 1)}`,
        ],
        ['report page (bytes)', fmt(r.htmlBytes!)],
        ['pass probability by day (ms)', fmt(r.passMs!), `${fmt(r.passDays!)} days, simulation pool (1 worker)`],
      ],
      r,
    );
  },
};

const venues: SuiteSpec = {
  name: 'venues',
  description:
    'one venue connector: WebSocket frames read, normalized, checked and published to JetStream, against the bare publish of the same ticks',
  options: [
    { flags: '--messages <n>', description: 'Binance bookTicker frames per run', parse: int, default: 200_000, quick: 40_000 },
    { flags: '--repeats <n>', description: 'runs of each measurement, alternating', parse: int, default: 3, quick: 1 },
    {
      flags: '--url <url>',
      description: 'NATS server (scratch memory streams are created and deleted)',
      default: process.env['NATS_URL'] ?? '127.0.0.1:4222',
    },
  ],
  async run(o: Opts, s) {
    const { runs, figures: r } = await runVenuesBench(o);
    printSuite(
      s,
      `venues (${fmt(r.messages!)} frames, medians of ${o.repeats})`,
      [
        ['bare JetStream publish msgs/s', fmt(r.barePerSec!), runsOf(runs.bare)],
        ['connector: read to acked publish', fmt(r.connectorPerSec!), runsOf(runs.connector)],
        ['connector / bare publish', `${fmt(100 * r.ratio!, 1)}%`],
        ['diag.: connector, no publish', fmt(r.noPublishPerSec!), runsOf(runs.noPublish)],
        ['load average (1 min)', fmt(r.loadAverage!, 2), 'other processes share the cores'],
      ],
      r,
    );
  },
};

const snapshots: SuiteSpec = {
  name: 'snapshots',
  description:
    '100k assessment snapshots to Postgres through the fenced store, and checkpoints of them from a real engine, against a bare batched upsert',
  options: [
    { flags: '--assessments <n>', description: 'assessments', parse: int, default: 100_000, quick: 20_000 },
    { flags: '--repeats <n>', description: 'checkpoints and bare upserts timed, alternating', parse: int, default: 3 },
    { flags: '--pairs <n>', description: 'store and bare upsert pairs (insert, update) timed, alternating', parse: int, default: 3 },
    { flags: '--workers <n>', description: 'shard workers of the checkpointed engine', parse: int, default: 2 },
    { flags: '--url <url>', description: 'Postgres server (a scratch database is created and dropped)', default: pgUrl },
  ],
  async run(o: Opts, s) {
    const r = await runSnapshotBench({ ...o, report: s });
    // Judged against the bare upsert of the same run only: an absolute time (the issue's 2 s per 100k rows) is a
    // property of the machine, and here the bare upsert alone took longer than it (0.55 s for 20k rows, quiet).
    const absolute = (bare: number) => `bare upsert ${fmt(bare, 2)} s in this run`;
    printSuite(
      s,
      `snapshots (${fmt(r.rows!)} assessments, ${fmt(r.avgStateBytes!)} B of state each; store: medians of ${o.pairs} pairs; checkpoints: ${o.workers} workers, medians of ${o.repeats}; load average ${fmt(s.results.loadAverage.start, 1)} at start)`,
      [
        ['store: insert all (s)', fmt(r.storeInsertSeconds!, 2), absolute(r.bareInsertSeconds!)],
        ['baseline: bare upsert insert (s)', fmt(r.bareInsertSeconds!, 2)],
        ['store / baseline, insert', `${fmt(r.insertRatio!, 2)}×`, s.target('store / bare upsert, insert', r.insertRatio!, '<=', 1.2, '×')],
        ['store: update all (s)', fmt(r.storeUpdateSeconds!, 2), absolute(r.bareUpdateSeconds!)],
        ['baseline: bare upsert update (s)', fmt(r.bareUpdateSeconds!, 2)],
        ['store / baseline, update', `${fmt(r.updateRatio!, 2)}×`, s.target('store / bare upsert, update', r.updateRatio!, '<=', 1.2, '×')],
        [
          '  CPU, store / bare, insert (s)',
          `${fmt(r.storeInsertCpuSeconds!, 2)} / ${fmt(r.bareInsertCpuSeconds!, 2)} = ${fmt(r.insertCpuRatio!, 2)}×`,
          'this process and its Postgres backends: what load does not blur',
        ],
        [
          '  CPU, store / bare, update (s)',
          `${fmt(r.storeUpdateCpuSeconds!, 2)} / ${fmt(r.bareUpdateCpuSeconds!, 2)} = ${fmt(r.updateCpuRatio!, 2)}×`,
          'ratios: medians of the pairs',
        ],
        ['load all back (s)', fmt(r.loadSeconds!, 2)],
        ['checkpoint, all actors (s)', fmt(r.checkpointSeconds!, 2), 'Engine.checkpointRows → PgCheckpointStore.save'],
        ['baseline: bare upsert update (s)', fmt(r.checkpointBareSeconds!, 2), 'same rows, alternating with the checkpoints'],
        [
          'checkpoint / baseline',
          `${fmt(r.checkpointRatio!, 2)}×`,
          s.target('checkpoint / bare upsert', r.checkpointRatio!, '<=', 1.5, '×'),
        ],
        [
          '  CPU, checkpoint / bare (s)',
          `${fmt(r.checkpointCpuSeconds!, 2)} / ${fmt(r.checkpointBareCpuSeconds!, 2)} = ${fmt(r.checkpointCpuRatio!, 2)}×`,
          'this process (shard workers included) and its Postgres backends',
        ],
        [
          'checkpoint: main loop stall (ms)',
          fmt(r.checkpointStallMs!, 0),
          s.target('checkpoint loop stall', r.checkpointStallMs!, '<=', 50, 'ms'),
        ],
        ['  main-thread CPU in it (ms)', fmt(r.checkpointStallCpuMs!, 0), "the process's own share of the longest gap"],
        ['  waiting for a CPU in it (ms)', fmt(r.checkpointStallWaitMs!, 0), "the machine's share: the main thread runnable, not running"],
        [
          'diag.: states encoded on main (s)',
          fmt(r.oldCheckpointSeconds!, 2),
          `the previous path; stall ${fmt(r.oldCheckpointStallMs!, 0)} ms (CPU ${fmt(r.oldCheckpointStallCpuMs!, 0)} ms)`,
        ],
      ],
      r,
    );
  },
};

const orders: SuiteSpec = {
  name: 'orders',
  description:
    'durably acknowledged orders/s and ack latency through a solo ClusterNode composed as production composes it, against the bare per-shard Postgres journal write',
  options: [
    {
      flags: '--rates <list>',
      description: 'offered rates of the open-loop runs, orders/s',
      parse: intList,
      default: [1_000, 10_000, 25_000, 50_000],
      quick: [10_000],
    },
    { flags: '--seconds <n>', description: 'length of each run', parse: int, default: 3, quick: 2 },
    { flags: '--window <n>', description: 'orders in flight in the closed-loop run', parse: int, default: 4_096 },
    { flags: '--repeats <n>', description: 'runs of each rate', parse: int, default: 3, quick: 1 },
    { flags: '--assessments <n>', description: 'assessments, created through offer() first', parse: int, default: 10_000, quick: 5_000 },
    { flags: '--tick-rate <n>', description: 'ticks/s on the market log meanwhile', parse: int, default: 300 },
    { flags: '--workers <n>', description: 'shard workers', parse: int, default: 2 },
    { flags: '--checkpoint-ms <n>', description: "the node's checkpoint interval (0: none)", parse: intOrZero, default: 5_000 },
    { flags: '--history', description: 'keep the history read model in the node, as npm start does', default: false },
    { flags: '--url <url>', description: 'Postgres server (a scratch database is created and dropped)', default: pgUrl },
  ],
  async run(o: Opts, s) {
    // The bench judges its targets itself: p99 at 10k/s in the worst run, closed loop / bare journal, loop stall.
    const { text, figures } = await runOrdersBench({ ...o, report: s });
    process.stdout.write(text);
    s.figures(figures);
    process.stdout.write(`${JSON.stringify({ bench: 'orders', ...figures })}\n`);
  },
};

const recovery: SuiteSpec = {
  name: 'recovery',
  description:
    'a solo node composed as npm run serve composes it (JetStream market log, per-shard journal and checkpoints) restarting on 100k checkpointed assessments, a journal backlog and 60 s of ticks, against reading and parsing the states',
  options: [
    { flags: '--assessments <n>', description: 'assessments in the checkpoint', parse: int, default: 100_000, quick: 20_000 },
    { flags: '--seconds <n>', description: 'feed time of ticks after the checkpoint', parse: int, default: 60, quick: 15 },
    { flags: '--journal <n>', description: 'journal entries after the checkpoint', parse: int, default: 5_000, quick: 1_000 },
    { flags: '--repeats <n>', description: 'recoveries (and baselines), alternating', parse: int, default: 3, quick: 1 },
    { flags: '--workers <n>', description: 'shard workers', parse: int, default: 2 },
    { flags: '--url <url>', description: 'Postgres server (a scratch database is created and dropped)', default: pgUrl },
    { flags: '--nats-url <url>', description: 'NATS server (a market stream of its own is created and deleted)', default: natsUrl },
  ],
  async run(o: Opts, s) {
    const { figures: r, runs } = await runRecoveryBench(o);
    const ro = (k: string) => runsOf(runs[k]!, 2);
    printSuite(
      s,
      `recovery (${fmt(r.assessments!)} assessments, ${fmt(r.stateMiB!)} MiB of state, ${fmt(r.marketInputs!)} market inputs = ${fmt(r.ticks!)} ticks in ${o.seconds} s + clocks, ${fmt(r.journalEntries!)} journal entries; ${o.workers} workers, medians of ${o.repeats})`,
      [
        ['compose: NATS, streams, migrations, engine (s)', fmt(r.compose!, 2), `to 'cluster node starting'; ${ro('compose')}`],
        ['  then to the take of every shard (s)', fmt(r.beforeTake!, 2), ro('beforeTake')],
        ['claim every shard (s)', fmt(r.claim!, 2), ro('claim')],
        ['load checkpoints (s)', fmt(r.load!, 2), ro('load')],
        ['journal read (s)', fmt(r.journalRead!, 2), ro('journalRead')],
        [
          'catch-up to the tail (s)',
          fmt(r.catchUp!, 2),
          `restore ${fmt(r.restore!, 2)}, replay ${fmt(r.replay!, 2)}, adopt ${fmt(r.adopt!, 2)}; ${ro('catchUp')}`,
        ],
        ['then the pump at the tail, applied (s)', fmt(r.afterTake!, 2), `'shards taken' to node.ready; ${ro('afterTake')}`],
        [
          'total: start to node.ready (s)',
          fmt(r.ready!, 2),
          `${s.target('start to node.ready', r.ready!, '<', r.targetSeconds!, 's')}; ${ro('ready')}`,
        ],
        ['  then shards caught up (s)', fmt(r.shardsCaughtUp!, 2), `adopted actors applied in the workers; ${ro('shardsCaughtUp')}`],
        [
          'total: start to all applied (s)',
          fmt(r.applied!, 2),
          `${s.target('start to all applied', r.applied!, '<', r.targetSeconds!, 's')}; ${ro('applied')}`,
        ],
        ['baseline: select state + parse (s)', fmt(r.baseline!, 2), ro('baseline')],
        ['node.ready / baseline', `${fmt(r.readyVsBaseline!, 1)}×`],
        ['diag.: Engine.restore alone (s)', fmt(r.restoreOnly!, 2), ro('restoreOnly')],
        ['set up (s)', fmt(r.setupSeconds!, 1), `load average ${fmt(r.loadAverage!, 1)} at start`],
      ],
      r,
    );
  },
};

const startup: SuiteSpec = {
  name: 'startup',
  description:
    'an engine and its shard workers started from compiled JavaScript (dist/, as production runs) against the same under tsx, fresh processes, alternating (npm run build first)',
  options: [
    { flags: '--workers <n>', description: 'shard workers', parse: int, default: 2 },
    { flags: '--repeats <n>', description: 'processes of each mode, alternating', parse: int, default: 5, quick: 3 },
    { flags: '--assessments <n>', description: 'actors in the snapshot restored (0: an empty engine)', parse: intOrZero, default: 0 },
  ],
  async run(o: Opts, s) {
    const { figures: r, runs } = await runStartupBench(o, (m) => s.progress(m));
    printSuite(
      s,
      `startup (${o.workers} workers${o.assessments > 0 ? `, restored from ${fmt(o.assessments)} actors` : ''}; medians of ${o.repeats} processes each)`,
      [
        [
          o.assessments > 0 ? 'compiled: restore to applied (ms)' : 'compiled: process start to applied (ms)',
          fmt(r.compiledReady!),
          runsOf(runs['compiledReady']!),
        ],
        ['tsx: the same (ms)', fmt(r.tsxReady!), runsOf(runs['tsxReady']!)],
        ['compiled / tsx, wall', `${fmt(r.readyRatio!, 2)}×`],
        ['compiled: CPU to that point (ms)', fmt(r.compiledCpu!), `every thread; ${runsOf(runs['compiledCpu']!)}`],
        ['tsx: CPU to that point (ms)', fmt(r.tsxCpu!), runsOf(runs['tsxCpu']!)],
        ['compiled / tsx, CPU', `${fmt(r.cpuRatio!, 2)}×`, s.target('compiled / tsx start-up CPU', r.cpuRatio!, '<', 1, '×')],
      ],
      r,
    );
  },
};

export { kernel, sim, ingest, history, venues, snapshots, orders, recovery, startup };
