/**
 * Crash test (`npm run test:chaos`): a driver publishes ticks to JetStream and
 * places orders over the intake service of an engine process, records every
 * acknowledgement, and meanwhile kills the engine with SIGKILL and restarts
 * NATS and Postgres. After each recovery it checks, against the logs
 * themselves, that:
 *  - every acknowledged order is journaled at or before the position the node has applied (lost = 0),
 *  - no order or fill is applied twice (duplicated = 0),
 *  - every assessment's state equals a from-scratch replay of the same inputs (mismatched = 0).
 * Sizes come from CHAOS_KILLS (default 50), CHAOS_NATS_RESTARTS (2), CHAOS_PG_RESTARTS (2).
 * The order of the faults and the pauses between them come from a seeded
 * generator: the run prints its seed, and CHAOS_SEED=<seed> replays that schedule.
 */
import assert from 'node:assert/strict';
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Decoder, Encoder } from '@msgpack/msgpack';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import seedrandom from 'seedrandom';
import { DEFAULT_INSTRUMENTS, presetTiers } from '../../../actors/index.js';
import { PgShardJournal } from '../../../persistence/index.js';
import {
  ensureMarketStream,
  marketSubjects,
  TickPublisher,
  intakeSubjects,
  JetStreamTickSource,
  type InspectReply,
} from '../../../transport/nats/index.js';
import {
  mergeSequenced,
  runInputs,
  stateDigest,
  type IntakeResult,
  type JournalRecord,
  type MarketInput,
  type OutputEvent,
} from '../../index.js';
import { createTestDatabase } from '../../testing/pg-test-db.js';
import { portOpen, serviceGate } from '../../testing/service-gate.js';
import { until } from '../../testing/until.js';

const KILLS = Number(process.env['CHAOS_KILLS'] ?? 50);
const NATS_RESTARTS = Number(process.env['CHAOS_NATS_RESTARTS'] ?? 2);
const PG_RESTARTS = Number(process.env['CHAOS_PG_RESTARTS'] ?? 2);
const ASSESSMENTS = 30;
/** Seed of the fault schedule (which fault when); CHAOS_SEED replays a run's. */
const SEED = process.env['CHAOS_SEED'] ?? randomBytes(6).toString('hex');
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NATS_START = [
  '--start',
  '--oknodo',
  '--background',
  '--exec',
  '/usr/sbin/nats-server',
  '--',
  '-a',
  '127.0.0.1',
  '-p',
  '4222',
  '-js',
  '-sd',
  '/var/lib/nats-server',
  '-l',
  '/var/log/nats-server.log',
];
const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;

test('acknowledged orders survive SIGKILLs and NATS and Postgres restarts, applied once, with every state equal to a replay', {
  skip,
  timeout: 40 * 60_000,
}, async (t) => {
  const db = await createTestDatabase();
  const id = randomBytes(4).toString('hex');
  const namespace = `chaos-${id}`;
  const group = `chaos-${id}`;
  const marketStream = `CHAOS_MKT_${id}`;
  const eventStream = `CHAOS_EV_${id}`;
  const logFile = join(tmpdir(), `chaos-engine-${id}.log`);
  const logOut = createWriteStream(logFile);
  const nc = await connect({ servers: '127.0.0.1:4222', maxReconnectAttempts: -1, reconnectTimeWait: 200, name: 'chaos-driver' });
  const js = jetstream(nc);
  const jsm = await jetstreamManager(nc);
  await ensureMarketStream(jsm, { name: marketStream, subjects: marketSubjects(namespace) });
  const publisher = new TickPublisher(js, { namespace, timeoutMs: 2_000 });
  const subjects = intakeSubjects(group, namespace);
  const enc = new Encoder({ ignoreUndefined: true });
  const dec = new Decoder();

  // -- the engine process ---------------------------------------------------------------
  let child: ChildProcess | undefined;
  let expectingExit = false;
  let selfExits = 0;
  const spawnEngine = (): void => {
    const proc = spawn(process.execPath, ['--import', 'tsx', 'engine/main/serve.ts'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        NATS_URL: 'nats://127.0.0.1:4222',
        DATABASE_URL: db.url,
        ENGINE_GROUP: group,
        NATS_NAMESPACE: namespace,
        MARKET_STREAM: marketStream,
        EVENT_STREAM: eventStream,
        CHECKPOINT_INTERVAL_MS: '400',
        CLOCK_BEAT: 'off',
        LOG_LEVEL: 'info',
        GATEWAY_PORT: 'off',
      },
    });
    proc.stdout!.pipe(logOut, { end: false });
    proc.stderr!.pipe(logOut, { end: false });
    proc.on('exit', () => {
      if (child === proc && !expectingExit) {
        selfExits++; // fail-stop after a dependency fault: its supervisor (here, the driver) restarts it
        spawnEngine();
      }
    });
    child = proc;
  };
  const inspect = async (): Promise<InspectReply> =>
    dec.decode((await nc.request(subjects.inspect, new Uint8Array(0), { timeout: 2_000 })).data) as InspectReply;
  const waitServing = async (): Promise<number> => {
    const t0 = performance.now();
    await until(
      async () =>
        inspect().then(
          () => true,
          () => false,
        ),
      { what: 'the engine to serve', deadlineMs: 120_000, intervalMs: 50 },
    );
    return performance.now() - t0;
  };
  const offer = async (req: object): Promise<IntakeResult | undefined> => {
    try {
      return dec.decode((await nc.request(subjects.intake, enc.encode(req), { timeout: 3_000 })).data) as IntakeResult;
    } catch {
      return undefined; // no reply: outcome unknown, retried with the same client order id
    }
  };

  // -- load: ticks and orders -----------------------------------------------------------
  const prices: Record<string, number> = { 'BTC-USD': 60_000, 'ETH-USD': 3_000, 'SOL-USD': 150 };
  let feedTime = Date.UTC(2026, 2, 2, 8, 0);
  let venueSeq = 0;
  let running = true;
  const publishOne = async (fn: () => Promise<unknown>): Promise<void> => {
    for (;;) {
      try {
        await fn();
        return;
      } catch {
        await sleep(100); // NATS down: the same message (same msg id) again until it is stored
      }
    }
  };
  await publishOne(() => publisher.publishClock(feedTime));
  const tickLoop = (async () => {
    while (running) {
      for (let k = 0; k < 5; k++) {
        feedTime += 200;
        venueSeq++;
        const symbol = Object.keys(prices)[venueSeq % 3]!;
        prices[symbol]! *= 1 + (Math.sin(venueSeq * 0.37) + Math.sin(venueSeq * 0.011)) * 0.0015;
        const p = prices[symbol]!;
        const tick = { venue: 'coinbase', symbol, ts: feedTime, bid: p * 0.9999, ask: p * 1.0001, venueSeq };
        await publishOne(() => publisher.publishTick(tick));
        if (venueSeq % 50 === 0) await publishOne(() => publisher.publishClock(feedTime));
      }
      await sleep(10);
    }
  })();

  spawnEngine();
  await waitServing();
  const ids = Array.from({ length: ASSESSMENTS }, (_, n) => `chaos-${String(n).padStart(3, '0')}`);
  for (const a of ids) {
    await until(
      async () => {
        const r = await offer({ kind: 'create', assessmentId: a, traderId: `trader-${a}`, tierId: 'one-step-50k' });
        return r !== undefined && (r.ok || r.code === 'DUPLICATE_ASSESSMENT');
      },
      { what: `create ${a}`, deadlineMs: 60_000, intervalMs: 50 },
    );
  }

  const acked = new Map<string, { assessmentId: string; clientOrderId: string; position: number }>();
  const unsettled = new Map<string, object>();
  let orderNo = 0;
  const settle = async (key: string, req: { assessmentId: string; command: { clientOrderId: string } }): Promise<void> => {
    const r = await offer(req);
    if (r !== undefined && (r.ok || (r.code === 'DUPLICATE_CLIENT_ORDER_ID' && r.position !== undefined))) {
      acked.set(key, { assessmentId: req.assessmentId, clientOrderId: req.command.clientOrderId, position: r.position! });
      unsettled.delete(key);
    } else if (
      r !== undefined &&
      !['NOT_READY', 'NOT_OWNER', 'STOPPING', 'JOURNAL_UNAVAILABLE', 'DUPLICATE_CLIENT_ORDER_ID'].includes(r.code)
    ) {
      throw new Error(`unexpected refusal ${r.code}: ${r.message}`);
    } else {
      unsettled.set(key, req);
    }
  };
  const orderLoop = (async () => {
    while (running) {
      const n = orderNo++;
      const assessmentId = ids[n % ids.length]!;
      const symbol = Object.keys(prices)[n % 3]!;
      const side = Math.floor(n / ids.length) % 2 === 0 ? 'buy' : 'sell';
      const p = prices[symbol]!;
      const qty = symbol === 'BTC-USD' ? 0.05 : symbol === 'ETH-USD' ? 1 : 20;
      const command = {
        kind: 'place',
        clientOrderId: `o-${n}`,
        symbol,
        side,
        type: 'market',
        qty,
        stopLoss: Number((side === 'buy' ? p * 0.97 : p * 1.03).toFixed(2)),
      };
      const req = { kind: 'command', assessmentId, command };
      void settle(`${assessmentId}/o-${n}`, req);
      await sleep(15);
      if (unsettled.size > 0 && n % 20 === 0) for (const [k, r] of [...unsettled]) void settle(k, r as never);
    }
  })();

  // -- the market and journal as they are, for replays ----------------------------------
  const market: MarketInput[] = [];
  const source = new JetStreamTickSource(js, { stream: marketStream, namespace, symbols: DEFAULT_INSTRUMENTS.map((i) => i.symbol) });
  const marketLoop = (async () => {
    for await (const m of source) market.push(m);
  })();
  const journal: JournalRecord[] = [];
  const pgJournal = new PgShardJournal(db.sql); // every virtual shard's entries, in position order;
  const replayCheck = async (seen: InspectReply): Promise<{ mismatched: number; events: OutputEvent[] }> => {
    await until(() => source.lastSeq >= seen.tickSeq, { what: 'the driver to read the market log', deadlineMs: 60_000, intervalMs: 50 });
    for await (const page of pgJournal.readAll(journal.at(-1)?.position ?? 0)) journal.push(...page);
    const inputs = mergeSequenced(
      market.filter((m) => m.seq <= seen.tickSeq),
      journal.filter((r) => r.position <= seen.journalPos),
    );
    const { engine, events } = await runInputs(inputs, { workers: 1, tiers: presetTiers(), instruments: DEFAULT_INSTRUMENTS });
    try {
      const replayed = await engine.snapshot();
      const mine = new Map(replayed.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));
      let mismatched = Math.abs(mine.size - seen.digests.length);
      for (const [a, d] of seen.digests) if (mine.get(a) !== d) mismatched++;
      return { mismatched, events };
    } finally {
      await engine.stop();
    }
  };
  const figures = {
    sigkill: 0,
    natsRestart: 0,
    pgRestart: 0,
    lost: 0,
    duplicated: 0,
    mismatched: 0,
    checks: 0,
    recoveryMs: [] as number[],
  };
  const checkAfterFault = async (): Promise<void> => {
    const ackedBefore = [...acked.values()]; // acknowledged before the node's boundary below
    const seen = await inspect();
    const r = await replayCheck(seen);
    figures.checks++;
    figures.mismatched += r.mismatched;
    const journaled = new Map(journal.map((j) => [`${j.input.assessmentId}/${j.clientOrderId}`, j.position]));
    for (const a of ackedBefore) {
      const at = journaled.get(`${a.assessmentId}/${a.clientOrderId}`);
      if (at === undefined || at !== a.position || at > seen.journalPos) figures.lost++;
    }
    const keys = journal.filter((j) => j.clientOrderId !== null).map((j) => `${j.input.assessmentId}/${j.clientOrderId}`);
    figures.duplicated += keys.length - new Set(keys).size;
  };

  // -- faults -----------------------------------------------------------------------------
  const random = seedrandom(SEED);
  t.diagnostic(`fault schedule seed ${SEED} (CHAOS_SEED=${SEED} replays it)`);
  process.stdout.write(`crash test: fault schedule seed ${SEED} (CHAOS_SEED=${SEED} replays it)\n`);
  const faults = [...Array(KILLS).fill('sigkill'), ...Array(NATS_RESTARTS).fill('nats'), ...Array(PG_RESTARTS).fill('pg')] as string[];
  for (let i = faults.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [faults[i], faults[j]] = [faults[j]!, faults[i]!];
  }
  for (const [n, kind] of faults.entries()) {
    await sleep(300 + random() * 1_200); // load runs between faults: a pause, not a wait for a condition
    if (kind === 'sigkill') {
      expectingExit = true;
      const dying = child!;
      const exited = new Promise((r) => dying.once('exit', r));
      dying.kill('SIGKILL');
      await exited;
      expectingExit = false;
      figures.sigkill++;
      spawnEngine();
      figures.recoveryMs.push(await waitServing());
    } else if (kind === 'nats') {
      execFileSync('pkill', ['-TERM', '-x', 'nats-server']);
      await until(async () => !(await portOpen('127.0.0.1', 4222, 200)), { what: 'NATS to stop', deadlineMs: 60_000, intervalMs: 50 });
      await sleep(500);
      execFileSync('start-stop-daemon', NATS_START);
      await until(() => portOpen('127.0.0.1', 4222, 200), { what: 'NATS to start', deadlineMs: 60_000, intervalMs: 50 });
      figures.natsRestart++;
      figures.recoveryMs.push(await waitServing());
    } else {
      const version = readdirSync('/etc/postgresql')[0]!;
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'restart']);
      figures.pgRestart++;
      figures.recoveryMs.push(await waitServing());
    }
    await checkAfterFault();
    t.diagnostic(
      `fault ${n + 1}/${faults.length} ${kind}: acked ${acked.size}, lost ${figures.lost}, duplicated ${figures.duplicated}, mismatched ${figures.mismatched}`,
    );
  }

  // -- quiesce, settle every order, final check -------------------------------------------
  running = false;
  await Promise.all([tickLoop, orderLoop]);
  await until(
    async () => {
      for (const [k, r] of [...unsettled]) await settle(k, r as never);
      return unsettled.size === 0;
    },
    { what: 'every order to settle', deadlineMs: 60_000, intervalMs: 50 },
  );
  await until(async () => (await inspect()).tickSeq >= (await jsm.streams.info(marketStream)).state.last_seq, {
    what: 'the engine to apply the whole market log',
    deadlineMs: 60_000,
    intervalMs: 50,
  });
  const final = await inspect();
  const finalCheck = await replayCheck(final);
  figures.mismatched += finalCheck.mismatched;
  for (const a of acked.values())
    if (!journal.some((j) => j.position === a.position && j.clientOrderId === a.clientOrderId)) figures.lost++;

  // Fills on the event stream: each replayed fill exactly once, none extra. The node may still be
  // publishing what a late fault held back (events are retried until stored), so wait for it, bounded.
  const readPublished = async (): Promise<Map<string, number>> => {
    const evInfo = await jsm.streams.info(eventStream);
    const seen = new Map<string, number>();
    if (evInfo.state.last_seq > 0) {
      const consumer = await js.consumers.get(eventStream, { deliver_policy: DeliverPolicy.All });
      const msgs = await consumer.consume();
      for await (const m of msgs) {
        const e = dec.decode(m.data) as OutputEvent;
        if (e.type === 'order.filled')
          seen.set(`${e.assessmentId}/${e.input}/${e.n}`, (seen.get(`${e.assessmentId}/${e.input}/${e.n}`) ?? 0) + 1);
        if (m.seq >= evInfo.state.last_seq) break;
      }
      await msgs.close();
    }
    return seen;
  };
  const replayedFills = finalCheck.events.filter((e) => e.type === 'order.filled' && e.input <= final.tickSeq);
  let published = await readPublished();
  const missingNow = (): number => replayedFills.filter((e) => !published.has(`${e.assessmentId}/${e.input}/${e.n}`)).length;
  await until(
    async () => {
      if (missingNow() === 0) return true;
      published = await readPublished();
      return missingNow() === 0;
    },
    { what: 'the node to publish every fill', deadlineMs: 30_000, intervalMs: 50 },
  ).catch(() => undefined); // what is still missing after 30 s is counted and fails below
  for (const [, count] of published) if (count > 1) figures.duplicated += count - 1;
  const fillsMissing = replayedFills.filter((e) => !published.has(`${e.assessmentId}/${e.input}/${e.n}`)).length;

  expectingExit = true;
  const last = child!;
  const exited = new Promise((r) => last.once('exit', r));
  last.kill('SIGTERM');
  await exited;
  running = false;
  await source.stop();
  await marketLoop;
  // The node's own recovery (restore, journal, replay to the market tail), from its log.
  const { readFile } = await import('node:fs/promises');
  const nodeRecoveryMs = (await readFile(logFile, 'utf8'))
    .split('\n')
    .filter((l) => l.includes('"engine node caught up"'))
    .map((l) => 1000 * (JSON.parse(l) as { seconds: number }).seconds)
    .slice(1);
  const summary = [
    'crash test — Jepsen-style figures',
    `  seed              ${SEED} (CHAOS_SEED=${SEED} replays the fault schedule)`,
    `  faults injected   SIGKILL ${figures.sigkill} · NATS restart ${figures.natsRestart} · Postgres restart ${figures.pgRestart} · engine self-exits after a dependency fault ${selfExits}`,
    `  orders            acknowledged ${acked.size} · lost ${figures.lost} · duplicated ${figures.duplicated} · fills ${replayedFills.length} (published ${published.size}, missing from the event stream ${fillsMissing})`,
    `  states            checks ${figures.checks + 1} × ${ASSESSMENTS} assessments · mismatched ${figures.mismatched}`,
    `  recovery time     p50 ${pct(figures.recoveryMs, 50).toFixed(0)} ms · p99 ${pct(figures.recoveryMs, 99).toFixed(0)} ms · max ${Math.max(...figures.recoveryMs).toFixed(0)} ms (fault to serving, new process start included)`,
    `  node recovery     p50 ${pct(nodeRecoveryMs, 50).toFixed(0)} ms · p99 ${pct(nodeRecoveryMs, 99).toFixed(0)} ms over ${nodeRecoveryMs.length} restarts (checkpoint load, journal, replay to the market tail)`,
    `  market log        ${final.tickSeq} messages · journal ${journal.length} entries · engine log ${logFile}`,
  ].join('\n');
  process.stdout.write(`${summary}\n`);
  for (const line of summary.split('\n')) t.diagnostic(line);

  await jsm.streams.delete(marketStream).catch(() => undefined);
  await jsm.streams.delete(eventStream).catch(() => undefined);
  await nc.close();
  await db.drop();
  logOut.end();
  assert.ok(acked.size > 0, 'orders were acknowledged');
  assert.equal(figures.lost, 0, 'no acknowledged order is lost');
  assert.equal(figures.duplicated, 0, 'nothing is applied twice');
  assert.equal(figures.mismatched, 0, 'every state equals its replay');
  assert.equal(fillsMissing, 0, 'every fill reached the event stream');
});
