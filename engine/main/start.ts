/**
 * `npm start [-- options]`: an engine node with the seeded synthetic feed,
 * demo assessments over the preset tiers, and bot traders, with a compact
 * live summary once per second, until Ctrl-C (or `--duration`). Ticks go
 * through the market log and every create and order through the journal, as
 * in production. With no NATS_URL / DATABASE_URL / REDIS_URL it runs on the
 * embedded defaults (in-process bus, Postgres in-process in a fresh temporary
 * data directory unless DATA_DIR is set): no server is needed. The gateway
 * signs its own development tokens unless GATEWAY_JWT_SECRET gives it an
 * HS256 secret (as `npm run test:soak` does for its clients).
 */
import { Command, InvalidArgumentError } from 'commander';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { DEFAULT_INSTRUMENTS, presetTiers, type Quote } from '../../actors/index.js';
import { BotTraders, Random } from '../../sim/index.js';
import { SyntheticFeed, type FeedItem } from '../../transport/market-data/index.js';
import { composeGateway, gatewayLimitsFromEnv, LateOutput, type ComposedGateway } from './compose-gateway.js';
import { PortInUseError } from '../../transport/server/index.js';
import { composeNode } from './compose-node.js';
import { confineServerFlagsToMainThread } from './server-flags.js';
import { runStories } from './demo-stories.js';
import { fmt, plainLine, round3, tableLines, type DemoSummary } from './demo-summary.js';
import { DemoMarket } from './demo-market.js';
import { DemoTally } from './demo-tally.js';

/** Options of {@link runDemo}, as parsed from the command line. */
interface StartOptions {
  /** @default 5000 */
  readonly assessments: number;
  /** @default 2 */
  readonly workers: number;
  /** @default 'demo' */
  readonly seed: string;
  /** Feed time per wall time. @default 60 */
  readonly speed: number;
  /** Target ticks per wall second. @default 2000 */
  readonly tickRate: number;
  /** Stop by itself after this many wall seconds. @default runs until stopped */
  readonly duration?: number;
  /** One JSON line per second instead of the table. @default false */
  readonly json: boolean;
  /** Gateway port (WebSocket, HTTP API, console); 'off' runs without one. @default 8080, or a free port (said on stderr) when taken */
  readonly port: string;
  /** `--port` was given: a taken port is then an error (exit 1), not a reason to take another. */
  readonly portGiven?: boolean;
}

/** Monday 2025-01-06 22:00 UTC: the preset tiers' first day rolls come within a few wall minutes at ×60. */
const FEED_START = Date.UTC(2025, 0, 6, 22, 0);
const PUMP_MS = 20;
/** After a stall, release at most this much wall time worth of feed at once. */
const MAX_STEP_MS = 100;
const CREATE_CHUNK = 2_000;
const STOP_TIMEOUT_MS = 15_000;

/** Run the demo until a signal or `duration`; resolves with the exit code. */
async function runDemo(o: StartOptions): Promise<number> {
  // Listen from the first moment: a Ctrl-C during start-up must also end in a clean stop.
  let stopRequested = false;
  let onStop: (() => void) | undefined;
  const request = (): void => {
    stopRequested = true;
    onStop?.();
  };
  process.on('SIGINT', request);
  process.on('SIGTERM', request);
  const out = process.stdout;
  const tty = out.isTTY === true && !o.json;
  const tiers = presetTiers();
  const instruments = DEFAULT_INSTRUMENTS;
  // Each stream quotes every meanIntervalMs of feed time; pick it so speed × density hits the tick rate.
  const ticksPerRound = instruments.length;
  const meanIntervalMs = (ticksPerRound * 1000 * o.speed) / o.tickRate;
  const markets = [...new Set(instruments.flatMap((i) => (i.market === undefined ? [] : [i.market])))];
  // Stagger resolutions (8 h, 16 h, … of feed time) so prediction accounts keep something to trade.
  const feed = new SyntheticFeed({
    seed: o.seed,
    instruments,
    startTime: FEED_START,
    meanIntervalMs,
    markets: Object.fromEntries(markets.map((m, k) => [m, { resolveAfterMs: (k + 1) * 8 * 3_600_000 }])),
  });
  const tally = new DemoTally();
  const env = process.env;
  const dataDir = env['DATA_DIR'] ?? (await mkdtemp(join(tmpdir(), 'vatic-demo-')));
  const log = pino({ level: env['LOG_LEVEL'] ?? 'warn' }, pino.destination(2));
  const late = new LateOutput();
  const composed = await composeNode(
    {
      ...(env['NATS_URL'] ? { natsUrl: env['NATS_URL'] } : {}),
      ...(env['DATABASE_URL'] ? { databaseUrl: env['DATABASE_URL'] } : {}),
      ...(env['REDIS_URL'] ? { redisUrl: env['REDIS_URL'] } : {}),
      dataDir,
      workers: o.workers,
      measureLatency: true,
      clockBeat: false,
    },
    log,
    [tally, late],
  );
  const node = composed.node;
  let gw: ComposedGateway | undefined;
  if (o.port !== 'off') {
    const wanted = Number(o.port);
    // GATEWAY_JWT_SECRET: tokens signed elsewhere (a soak run's clients) are accepted; unset, a random development secret.
    const tokens = env['GATEWAY_JWT_SECRET'] ? { tokens: { secret: env['GATEWAY_JWT_SECRET'] } } : {};
    try {
      // The default port may be taken (a free one is used, and said); a port asked for with --port must be had.
      gw = await composeGateway(
        composed,
        late,
        { port: wanted, freePortWhenTaken: o.portGiven !== true, limits: gatewayLimitsFromEnv(env), ...tokens },
        log,
      );
    } catch (err) {
      if (!(err instanceof PortInUseError)) throw err;
      process.stderr.write(`start: ${err.message}; choose another --port (0 for any free one)\n`);
      await composed.close();
      if (env['DATA_DIR'] === undefined) await rm(dataDir, { recursive: true, force: true });
      return 1;
    }
    if (wanted !== 0 && gw.gateway.port !== wanted)
      process.stderr.write(`start: port ${wanted} is in use; the gateway listens on free port ${gw.gateway.port} instead\n`);
  }
  const devToken = await gw?.devToken('trader-000001');
  const consoleUrl =
    gw === undefined ? undefined : `http://127.0.0.1:${gw.gateway.port}/${devToken === undefined ? '' : `#token=${devToken}`}`;
  const engine = node.engine;
  const b = composed.backends;
  const external = env['NATS_URL'] !== undefined || env['DATABASE_URL'] !== undefined || env['REDIS_URL'] !== undefined;
  const config =
    `vatic demo: synthetic feed (seed '${o.seed}', ${instruments.length} symbols, ×${o.speed} feed time, target ${fmt(o.tickRate)} ticks/s), ` +
    `${fmt(o.assessments)} assessments over ${tiers.length} preset tiers, ${o.workers} shard workers, bot traders; ` +
    `market log: ${b.market}; journal: ${b.journal}; events: ${b.events}; shared state: ${b.shared}; ` +
    `gateway: ${gw === undefined ? 'off' : `${gw.gateway.uws.implementation} on port ${gw.gateway.port}; console for trader-000001: ${consoleUrl}`}`;
  out.write(
    o.json
      ? `${JSON.stringify({ type: 'config', message: config, seed: o.seed, assessments: o.assessments, workers: o.workers, speed: o.speed, tickRate: o.tickRate, feed: 'synthetic', externalServer: external, backends: b, gatewayPort: gw?.gateway.port ?? null, consoleUrl: consoleUrl ?? null, pid: process.pid })}\n`
      : `${config} (pid ${process.pid})\n`,
  );

  // Market inputs go to the market log (the node reads them back in order); creates and orders to the journal.
  const market = new DemoMarket(composed, instruments);
  const publish = market.publish;
  let refused = 0;
  const caughtUp = async (): Promise<void> => {
    const tail = await composed.marketTail();
    while (node.lastSeq < tail) await new Promise((r) => setTimeout(r, 10));
  };

  const accounts = Array.from({ length: o.assessments }, (_, n) => ({
    assessmentId: `demo-${String(n + 1).padStart(6, '0')}`,
    traderId: `trader-${String(n + 1).padStart(6, '0')}`,
    tier: tiers[n % tiers.length]!,
  }));
  const quotes = new Map<string, Quote>();
  // The console's trader (trader-000001) trades demo-000001 by hand: the bots trade every other account.
  const bots = new BotTraders({
    random: new Random(`${o.seed}:bots`),
    accounts: accounts.slice(1),
    quote: (s) => quotes.get(s),
    instruments,
    startTime: FEED_START,
  });
  tally.bots = bots; // before the creates, so the bots see their accounts' opening floors

  // The engine's time starts with the first time-stamped input: set it before creating, so accounts start at feed time.
  await node.ready;
  // A failed and a passed assessment for the console's trader, with their history and reports, before the live feed (once per data directory).
  if ((await node.state('demo-story-pass')) === undefined) {
    await runStories(
      { publish: (i) => publish(i as Parameters<typeof publish>[0]), caughtUp, offer: (r) => node.offer(r) },
      'trader-000001',
      FEED_START - 108 * 3_600_000,
    );
  }
  publish({ type: 'clock', time: FEED_START });
  await caughtUp();
  for (let n = 0; n < accounts.length && !stopRequested; n += CREATE_CHUNK) {
    // Journaled in batches; an account already there from an earlier run in DATA_DIR is kept.
    await Promise.all(
      accounts
        .slice(n, n + CREATE_CHUNK)
        .map((a) => node.offer({ kind: 'create', assessmentId: a.assessmentId, traderId: a.traderId, tierId: a.tier.id })),
    );
  }
  await engine.barrier();

  const startedAt = performance.now();
  let lastWall = startedAt;
  let feedNow = FEED_START;
  let pending: FeedItem | undefined = feed.next();
  let ticks = 0,
    commands = 0,
    resolutions = 0,
    lagging = false;
  // Backpressure: hold the feed (and so the bots) while a shard has more than ~0.5 s of ticks waiting.
  const maxPending = Math.max(2_000, o.tickRate / 2);

  const pump = (): void => {
    const wall = performance.now();
    const dt = Math.min(wall - lastWall, MAX_STEP_MS);
    lastWall = wall;
    const busBacklog = composed.memoryMarket === undefined ? 0 : composed.memoryMarket.lastSeq - node.lastSeq;
    if (busBacklog > maxPending || engine.shards().some((s) => s.pendingInputs > maxPending)) {
      lagging = true; // shown until the next summary
      return;
    }
    feedNow += dt * o.speed;
    const target = Math.floor(feedNow);
    while (pending !== undefined && (pending.type === 'tick' ? pending.tick.ts : pending.resolution.ts) <= target) {
      if (pending.type === 'tick') {
        const t = pending.tick;
        publish({ type: 'tick', ...t });
        quotes.set(t.symbol, { seq: t.seq, ts: t.ts, bid: t.bid, ask: t.ask, bidSize: t.bidSize, askSize: t.askSize });
        ticks++;
      } else {
        const r = pending.resolution;
        publish({ type: 'resolution', ...r });
        for (const i of instruments) if (i.market === r.market) quotes.delete(i.symbol); // resolved: bots stop trading it
        resolutions++;
      }
      pending = feed.done ? undefined : feed.next();
    }
    publish({ type: 'clock', time: target });
    for (const c of bots.commands(target)) {
      void node.offer({ kind: 'command', assessmentId: c.assessmentId, command: c.command }).then((r) => {
        if (!r.ok) refused++;
      });
      commands++;
    }
  };

  const first = { at: startedAt, ticks: 0, inputs: engine.position, commands: 0, busy: engine.shards().map((s) => s.busyMs) };
  let prev = first;
  let worstP99: number | null = null;

  const summarize = async (type: DemoSummary['type']): Promise<DemoSummary> => {
    const [lat, mem] = await Promise.all([engine.latency(), engine.memory()]);
    const now = performance.now();
    // Per-second figures while running; the final summary averages the whole run.
    const base = type === 'final' ? first : prev;
    const secs = Math.max(1e-3, (now - base.at) / 1000);
    const reports = engine.shards();
    const measured = lat.filter((l) => l.count > 0);
    const s: DemoSummary = {
      type,
      uptimeSec: Math.round((now - startedAt) / 1000),
      feedTime: `${new Date(feedNow).toISOString().slice(0, 19).replace('T', ' ')} UTC`,
      lagging,
      ticksPerSec: Math.round((ticks - base.ticks) / secs),
      inputsPerSec: Math.round((engine.position - base.inputs) / secs),
      commandsPerSec: Math.round((commands - base.commands) / secs),
      ticks,
      inputs: engine.position,
      commands,
      resolutions,
      ordersAccepted: tally.accepted,
      ordersRejected: tally.rejected,
      fills: tally.fills,
      violations: tally.violations,
      passes: tally.passes,
      failures: tally.failures,
      assessments: o.assessments,
      active: tally.created - tally.ended,
      passed: tally.passed,
      failed: tally.failed,
      otherEnded: tally.ended - tally.passed - tally.failed,
      // The slowest shard bounds what a trader sees.
      p50Ms: measured.length === 0 ? null : round3(Math.max(...measured.map((l) => l.p50))),
      p99Ms: measured.length === 0 ? null : round3(Math.max(...measured.map((l) => l.p99))),
      worstP99Ms: null,
      memory: { rssMiB: 0, mainHeapMiB: 0, mainExternalMiB: 0, shardHeapMiB: 0 },
      shards: reports.map((r, k) => ({
        shard: r.shard,
        actors: r.stats?.actors ?? 0,
        busyPct: Math.round((100 * (r.busyMs - (base.busy[k] ?? 0))) / (secs * 1000)),
        pending: r.pendingInputs,
        heapMiB: Math.round((mem[k]?.usedHeap ?? 0) / 2 ** 20),
        p50Ms: lat[k]!.count > 0 ? round3(lat[k]!.p50) : null,
        p99Ms: lat[k]!.count > 0 ? round3(lat[k]!.p99) : null,
      })),
    };
    const mu = process.memoryUsage();
    const mib = (b: number) => Math.round(b / 2 ** 20);
    s.memory = {
      rssMiB: mib(mu.rss),
      mainHeapMiB: mib(mu.heapTotal),
      mainExternalMiB: mib(mu.external),
      shardHeapMiB: mib(mem.reduce((t, m) => t + m.totalHeap, 0)),
    };
    if (s.p99Ms !== null && (worstP99 === null || s.p99Ms > worstP99)) worstP99 = s.p99Ms;
    s.worstP99Ms = worstP99;
    prev = { at: now, ticks, inputs: engine.position, commands, busy: reports.map((r) => r.busyMs) };
    lagging = false;
    return s;
  };

  let drawn = 0;
  const print = (s: DemoSummary): void => {
    if (o.json) return void out.write(`${JSON.stringify(s)}\n`);
    if (!tty) return void out.write(`${plainLine(s)}\n`);
    const lines = tableLines(s, o.speed);
    // Move to the first line of the previous block and clear below it: the table redraws in place.
    out.write(`${drawn > 0 ? `\x1b[${drawn}F\x1b[J` : ''}${lines.join('\n')}\n`);
    drawn = s.type === 'final' ? 0 : lines.length;
  };

  return new Promise<number>((resolve) => {
    let stopping = false;
    let inFlight: Promise<void> = Promise.resolve();
    const fail = (err: unknown): void => {
      process.stderr.write(`start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      void stop(1);
    };
    const pumpTimer = setInterval(() => {
      try {
        pump();
      } catch (err) {
        fail(err);
      }
    }, PUMP_MS);
    const summaryTimer = setInterval(() => {
      inFlight = inFlight.then(async () => print(await summarize('summary'))).catch(fail);
    }, 1000);
    const durationTimer = o.duration === undefined ? undefined : setTimeout(() => void stop(0), o.duration * 1000);

    async function stop(code: number): Promise<void> {
      if (stopping) return; // repeated signals (a terminal and a wrapper both relay Ctrl-C) change nothing
      stopping = true;
      clearInterval(pumpTimer);
      clearInterval(summaryTimer);
      clearTimeout(durationTimer);
      const guard = setTimeout(() => {
        process.stderr.write(`start: the engine did not stop within ${STOP_TIMEOUT_MS / 1000} s\n`);
        process.exit(1);
      }, STOP_TIMEOUT_MS);
      try {
        await inFlight;
        await caughtUp(); // every published input applied, so the final figures are complete
        await engine.barrier();
        print(await summarize('final'));
      } catch (err) {
        process.stderr.write(`start: ${err instanceof Error ? err.message : String(err)}\n`);
        code = 1;
      }
      await gw?.close(); // sockets closed with 1001
      await composed.close(); // journal flushed, checkpoint taken, connections closed
      if (env['DATA_DIR'] === undefined) await rm(dataDir, { recursive: true, force: true });
      if (market.failures > 0 || refused > 0)
        process.stderr.write(`start: ${market.failures} market publishes failed, ${refused} bot commands refused by intake\n`);
      clearTimeout(guard);
      resolve(code);
    }
    onStop = () => void stop(0);
    if (stopRequested) onStop();
  });
}

function positive(max: number, integer: boolean) {
  return (v: string): number => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n))) {
      throw new InvalidArgumentError(`a positive ${integer ? 'whole ' : ''}number up to ${fmt(max)}`);
    }
    return n;
  };
}

const program = new Command('start')
  .description('Run the engine on embedded defaults (synthetic feed, demo assessments, bot traders) with a live summary until stopped')
  .option('--assessments <n>', 'demo assessments, spread over the preset tiers', positive(1_000_000, true), 5_000)
  .option('--workers <n>', 'shard worker threads', positive(64, true), 2)
  .option('--seed <s>', 'seed of the feed and the bots', 'demo')
  .option('--speed <x>', 'feed time per wall time (60: one wall second is a feed minute)', positive(1e6, false), 60)
  .option('--tick-rate <n>', 'target ticks per wall second', positive(1e7, false), 2_000)
  .option('--duration <s>', 'stop by itself after this many seconds', positive(1e9, false))
  .option('--json', 'print one JSON summary line per second instead of the table', false)
  .option('--port <n>', "gateway port (WebSocket, HTTP API, browser console), or 'off'", '8080')
  .action(async (opts: StartOptions) => {
    confineServerFlagsToMainThread();
    process.exit(await runDemo({ ...opts, portGiven: program.getOptionValueSource('port') === 'cli' }));
  });

await program.parseAsync();
