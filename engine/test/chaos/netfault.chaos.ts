/**
 * Network-fault test (`npm run test:netfault`): the engine node runs in its
 * own network namespace, reaching NATS and Postgres over a veth link through
 * fault proxies on the host end. While a driver publishes ticks and places
 * orders (over NATS, from the host, unaffected), the link is cut from NATS,
 * cut from Postgres (nftables DROP both ways: nothing is reset, connections
 * hang), delayed (200 ms ± 50 each way, in the proxies: this kernel may lack
 * `sch_netem`) and made lossy (nftables random drop). After each fault heals
 * it checks that the node serves again and catches up with the market log
 * within a deadline, or that it stopped itself with a non-zero exit code and
 * a logged reason (its supervisor, here the driver, restarts it); then, as
 * the crash test does, that nothing acknowledged is lost, nothing applied
 * twice, and every state equals a replay.
 *
 * Where no namespace can be made (not root, no netns/nftables), the node runs
 * on loopback behind the same proxies, which then cut by holding every byte
 * and stand for loss by stalling segments as retransmits would; the summary
 * says which mode ran.
 *
 * Sizes: NETFAULT_ROUNDS (default 3) rounds of the four faults,
 * NETFAULT_PARTITION_S (20) per cut, NETFAULT_DEGRADE_S (20) per delay or
 * loss window, NETFAULT_LOSS_PCT (7), NETFAULT_DELAY_MS (200),
 * NETFAULT_JITTER_MS (50), NETFAULT_RECOVERY_S (90: deadline to catch up);
 * NETFAULT_MODE=loopback forces the fallback. The pauses between faults and
 * the proxies' jitter and stalls come from a seeded generator: the run prints
 * its seed, and NETFAULT_SEED=<seed> replays them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import seedrandom from 'seedrandom';
import { DEFAULT_INSTRUMENTS, presetTiers } from '../../../actors/index.js';
import { PgShardJournal } from '../../../persistence/index.js';
import { JetStreamTickSource, type InspectReply } from '../../../transport/nats/index.js';
import { mergeSequenced, runInputs, stateDigest, type JournalRecord, type MarketInput, type OutputEvent } from '../../index.js';
import { createTestDatabase } from '../../testing/pg-test-db.js';
import { serviceGate } from '../../testing/service-gate.js';
import { ChaosLoad } from './chaos-load.js';
import { FaultProxy } from '../../testing/fault-proxy.js';
import { NetnsLink, NetnsUnavailableError } from './netns-link.js';
import { EngineSupervisor } from './engine-supervisor.js';
import { until } from '../../testing/until.js';

const num = (name: string, d: number): number => Number(process.env[name] ?? d);
const ROUNDS = num('NETFAULT_ROUNDS', 3);
const PARTITION_MS = num('NETFAULT_PARTITION_S', 20) * 1000;
const DEGRADE_MS = num('NETFAULT_DEGRADE_S', 20) * 1000;
const LOSS_PCT = num('NETFAULT_LOSS_PCT', 7);
const DELAY_MS = num('NETFAULT_DELAY_MS', 200);
const JITTER_MS = num('NETFAULT_JITTER_MS', 50);
const RECOVERY_MS = num('NETFAULT_RECOVERY_S', 90) * 1000;
const ASSESSMENTS = 30;
/** Seed of the pauses between faults and of the proxies' jitter and stalls; NETFAULT_SEED replays a run's. */
const SEED = process.env['NETFAULT_SEED'] ?? randomBytes(6).toString('hex');
const skip = (await serviceGate('nats', '127.0.0.1', 4222)) || (await serviceGate('postgres', '127.0.0.1', 5432));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pct = (xs: number[], p: number) =>
  xs.length === 0 ? NaN : [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)]!;
const f0 = (x: number): string => (Number.isFinite(x) ? x.toFixed(0) : '-');

type Fault = 'nats-cut' | 'pg-cut' | 'delay' | 'loss';

test('through cuts from NATS and Postgres, delay and loss, acknowledged orders are kept once and every state equals a replay; the node recovers or stops with a reason', {
  skip,
  timeout: 60 * 60_000,
}, async (t) => {
  const id = randomBytes(3).toString('hex');
  let link: NetnsLink | undefined;
  let mode: string;
  try {
    if (process.env['NETFAULT_MODE'] === 'loopback') throw new NetnsUnavailableError('NETFAULT_MODE=loopback');
    link = NetnsLink.create(id);
    mode = `network namespace ${link.ns} over veth (${link.nsAddr} → ${link.hostAddr}); cuts and loss by nftables, delay by the proxies`;
  } catch (err) {
    if (!(err instanceof NetnsUnavailableError)) throw err;
    mode = `loopback fallback (${err.message}): cuts hold every byte in the proxies, loss stalls segments`;
  }
  // Namespace, link and rules go with the test however it ends (a SIGKILL: the next run sweeps them).
  const onExit = (): void => link?.destroy();
  let killEngine = (): void => undefined;
  const onSignal = (signal: NodeJS.Signals): void => {
    killEngine();
    link?.destroy();
    process.kill(process.pid, signal);
  };
  process.once('exit', onExit);
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  t.diagnostic(`mode: ${mode}`);

  const listenHost = link?.hostAddr ?? '127.0.0.1';
  const random = seedrandom(SEED);
  t.diagnostic(`seed ${SEED} (NETFAULT_SEED=${SEED} replays the pauses, jitter and stalls)`);
  process.stdout.write(`network-fault test: seed ${SEED} (NETFAULT_SEED=${SEED} replays the pauses, jitter and stalls)\n`);
  const natsProxy = await FaultProxy.start({ listenHost, targetHost: '127.0.0.1', targetPort: 4222, random: seedrandom(`${SEED}/nats`) });
  const pgProxy = await FaultProxy.start({ listenHost, targetHost: '127.0.0.1', targetPort: 5432, random: seedrandom(`${SEED}/pg`) });
  const db = await createTestDatabase();
  const load = await ChaosLoad.start({
    namespace: `netfault-${id}`,
    group: `netfault-${id}`,
    marketStream: `NETFAULT_MKT_${id}`,
    eventStream: `NETFAULT_EV_${id}`,
    assessments: ASSESSMENTS,
  });
  const dbUrl = new URL(db.url);
  dbUrl.hostname = listenHost;
  dbUrl.port = String(pgProxy.port);
  const engine = new EngineSupervisor({
    id: `netfault-${id}`,
    ...(link === undefined ? {} : { wrap: (cmd, args) => link!.exec(cmd, ...args) }),
    env: {
      NATS_URL: `nats://${listenHost}:${natsProxy.port}`,
      DATABASE_URL: dbUrl.toString(),
      ENGINE_GROUP: load.group,
      NATS_NAMESPACE: load.namespace,
      MARKET_STREAM: load.marketStream,
      EVENT_STREAM: load.eventStream,
      CHECKPOINT_INTERVAL_MS: '400',
      CLOCK_BEAT: 'off',
      LOG_LEVEL: 'info',
      GATEWAY_PORT: 'off',
    },
  });

  killEngine = () => engine.killNow();

  const market: MarketInput[] = [];
  const source = new JetStreamTickSource(load.js, {
    stream: load.marketStream,
    namespace: load.namespace,
    symbols: DEFAULT_INSTRUMENTS.map((i) => i.symbol),
  });
  const marketLoop = (async () => {
    for await (const m of source) market.push(m);
  })();
  const journal: JournalRecord[] = [];
  const pgJournal = new PgShardJournal(db.sql); // every virtual shard's entries, in position order;
  const figures = { lost: 0, duplicated: 0, mismatched: 0, checks: 0 };
  const rows: Array<{
    fault: Fault;
    ms: number;
    answers: string;
    ackBefore: number;
    ackedDuring: number;
    ackP50: number;
    ackP99: number;
    recoveryMs: number;
    selfExits: number;
  }> = [];

  const check = async (): Promise<{ seen: InspectReply; events: OutputEvent[] }> => {
    const ackedBefore = [...load.acked.values()];
    const seen = await load.inspect();
    await until(() => source.lastSeq >= seen.tickSeq, { what: 'the driver to read the market log', deadlineMs: 60_000, intervalMs: 50 });
    for await (const page of pgJournal.readAll(journal.at(-1)?.position ?? 0)) journal.push(...page);
    const inputs = mergeSequenced(
      market.filter((m) => m.seq <= seen.tickSeq),
      journal.filter((r) => r.position <= seen.journalPos),
    );
    const { engine: replay, events } = await runInputs(inputs, { workers: 1, tiers: presetTiers(), instruments: DEFAULT_INSTRUMENTS });
    try {
      const replayed = await replay.snapshot();
      const mine = new Map(replayed.kernel.actors.map((a) => [a.state.id, stateDigest(a.state)]));
      figures.mismatched += Math.abs(mine.size - seen.digests.length);
      for (const [a, d] of seen.digests) if (mine.get(a) !== d) figures.mismatched++;
    } finally {
      await replay.stop();
    }
    figures.checks++;
    const journaled = new Map(journal.map((j) => [`${j.input.assessmentId}/${j.clientOrderId}`, j.position]));
    for (const a of ackedBefore) {
      const at = journaled.get(`${a.assessmentId}/${a.clientOrderId}`);
      if (at === undefined || at !== a.position || at > seen.journalPos) figures.lost++;
    }
    const keys = journal.filter((j) => j.clientOrderId !== null).map((j) => `${j.input.assessmentId}/${j.clientOrderId}`);
    figures.duplicated = keys.length - new Set(keys).size;
    return { seen, events };
  };
  /** Serving again, and applied the whole market log as it stood at the heal. */
  const recovered = async (): Promise<void> => {
    const target = await load.marketTail();
    await until(
      async () => {
        const seen: InspectReply | undefined = await load.inspect().catch(() => undefined);
        return seen !== undefined && seen.tickSeq >= target;
      },
      { what: 'the node to serve and catch up after the fault healed', deadlineMs: RECOVERY_MS },
    );
  };

  try {
    engine.start();
    await until(
      async () =>
        load.inspect().then(
          () => true,
          () => false,
        ),
      { what: 'the engine to serve', deadlineMs: 120_000, intervalMs: 50 },
    );
    await load.createAssessments();
    load.run();
    const faults: Fault[] = Array.from({ length: ROUNDS }, () => ['nats-cut', 'pg-cut', 'delay', 'loss'] as Fault[]).flat();
    for (const [n, fault] of faults.entries()) {
      await sleep(1_000 + random() * 1_000); // load runs between faults: a pause, not a wait for a condition
      const exitsBefore = engine.selfExits.length;
      const ackedBefore = load.acked.size;
      const injectedAt = performance.now();
      const ms = fault === 'nats-cut' || fault === 'pg-cut' ? PARTITION_MS : DEGRADE_MS;
      const proxy = fault === 'nats-cut' ? natsProxy : pgProxy;
      if (fault === 'nats-cut' || fault === 'pg-cut') {
        if (link !== undefined) link.cut(proxy.port);
        else proxy.faults.blackhole = true;
      } else if (fault === 'delay') {
        for (const p of [natsProxy, pgProxy]) Object.assign(p.faults, { delayMs: DELAY_MS, jitterMs: JITTER_MS });
      } else if (link !== undefined) {
        link.loss(LOSS_PCT);
      } else {
        for (const p of [natsProxy, pgProxy]) p.faults.stallProbability = LOSS_PCT / 100;
      }
      await sleep(ms);
      const ackedDuring = load.acked.size - ackedBefore;
      link?.heal();
      natsProxy.heal();
      pgProxy.heal();
      const healedAt = performance.now();
      const during = load.ackLog.filter((a) => a.at >= injectedAt && a.at <= healedAt).map((a) => a.latencyMs);
      await recovered();
      const recoveryMs = performance.now() - healedAt;
      await check(); // by now every offer made during the fault has its outcome
      const tally = new Map<string, number>();
      for (const o of load.offers) if (o.at >= injectedAt && o.at < healedAt) tally.set(o.outcome, (tally.get(o.outcome) ?? 0) + 1);
      const answers = [...tally].map(([k, v]) => `${k} ${v}`).join(', ');
      const before = load.ackLog.filter((a) => a.at >= injectedAt - 1_000 && a.at < injectedAt).map((a) => a.latencyMs);
      const selfExits = engine.selfExits.length - exitsBefore;
      rows.push({
        fault,
        ms,
        answers,
        ackBefore: pct(before, 50),
        ackedDuring,
        ackP50: pct(during, 50),
        ackP99: pct(during, 99),
        recoveryMs,
        selfExits,
      });
      t.diagnostic(
        `fault ${n + 1}/${faults.length} ${fault} ${ms / 1000} s: offers made during it ${answers || 'none'}; ack latency p50 in the second before ${f0(pct(before, 50))} ms; acked during ${ackedDuring} (ack latency p50 ${f0(pct(during, 50))} ms p99 ${f0(pct(during, 99))} ms), recovered in ${recoveryMs.toFixed(0)} ms, self-exits ${selfExits}; acked ${load.acked.size}, lost ${figures.lost}, duplicated ${figures.duplicated}, mismatched ${figures.mismatched}`,
      );
    }

    await load.quiesce();
    await until(async () => (await load.inspect()).tickSeq >= (await load.marketTail()), {
      what: 'the engine to apply the whole market log',
      deadlineMs: 60_000,
      intervalMs: 50,
    });
    const final = await check();
    for (const a of load.acked.values())
      if (!journal.some((j) => j.position === a.position && j.clientOrderId === a.clientOrderId)) figures.lost++;
    // Fills on the event stream (published through the cuts): each replayed fill exactly once, none extra.
    const published = await load.publishedFills();
    const replayedFills = final.events.filter((e) => e.type === 'order.filled' && e.input <= final.seen.tickSeq);
    let fillsDuplicated = 0;
    for (const [, count] of published) if (count > 1) fillsDuplicated += count - 1;
    const fillsMissing = replayedFills.filter(
      (e) => e.type === 'order.filled' && !published.has(`${e.assessmentId}/${e.input}/${e.n}`),
    ).length;
    await engine.stop();

    const by = (f: Fault) => rows.filter((r) => r.fault === f);
    const line = (f: Fault, label: string) => {
      const rs = by(f);
      const rec = rs.map((r) => r.recoveryMs);
      return `  ${label.padEnd(17)} ${rs.length} × ${(rs[0]?.ms ?? 0) / 1000} s · offers made during it: ${rs.map((r) => r.answers || 'none').join(' / ')} · acked during ${rs.map((r) => r.ackedDuring).join('/')} (ack p50/p99 ${rs.map((r) => `${f0(r.ackP50)}/${f0(r.ackP99)}`).join(', ')} ms) · recovery p50 ${f0(pct(rec, 50))} ms max ${Math.max(...rec).toFixed(0)} ms · self-exits ${rs.reduce((s, r) => s + r.selfExits, 0)}`;
    };
    const summary = [
      'network-fault test — figures',
      `  mode              ${mode}`,
      `  seed              ${SEED} (NETFAULT_SEED=${SEED} replays the pauses, jitter and stalls)`,
      line('nats-cut', 'cut from NATS'),
      line('pg-cut', 'cut from Postgres'),
      line('delay', `delay ${DELAY_MS}±${JITTER_MS} ms`),
      line('loss', `loss ${LOSS_PCT}%`),
      `  baseline          ack latency p50 ${f0(pct(rows.map((r) => r.ackBefore).filter(Number.isFinite), 50))} ms (median over the faults of the p50 in the second before each)`,
      `  orders            acknowledged ${load.acked.size} · lost ${figures.lost} · duplicated ${figures.duplicated} · unknown-outcome retries ${load.retries}`,
      `  fills             replayed ${replayedFills.length} · on the event stream ${published.size} · missing ${fillsMissing} · published twice ${fillsDuplicated}`,
      `  states            checks ${figures.checks} × ${ASSESSMENTS} assessments · mismatched ${figures.mismatched}`,
      `  node exits        ${engine.selfExits.length === 0 ? 'none' : engine.selfExits.map((e) => `code ${e.code}: ${e.reason}`).join('; ')}`,
      `  engine log        ${engine.logFile}`,
    ].join('\n');
    process.stdout.write(`${summary}\n`);
    for (const l of summary.split('\n')) t.diagnostic(l);

    assert.ok(load.acked.size > 0, 'orders were acknowledged');
    assert.equal(figures.lost, 0, 'no acknowledged order is lost');
    assert.equal(figures.duplicated, 0, 'nothing is applied twice');
    assert.equal(figures.mismatched, 0, 'every state equals its replay');
    assert.equal(fillsMissing, 0, 'every fill reached the event stream');
    assert.equal(fillsDuplicated, 0, 'no fill is published twice');
    for (const e of engine.selfExits) {
      assert.notEqual(e.code, 0, 'a node that stops by itself after a fault exits non-zero');
      assert.ok(e.reason !== undefined, `a node that stops by itself logs why (exit code ${e.code})`);
    }
  } finally {
    await engine.stop().catch(() => undefined);
    await source.stop();
    await marketLoop.catch(() => undefined);
    await load.close();
    await natsProxy.close();
    await pgProxy.close();
    await db.drop();
    link?.destroy();
    process.off('exit', onExit);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
});
