/**
 * Cluster test (`npm run test:cluster`): engine nodes and gateways as
 * separate processes on this machine (`ENGINE_ROLE=engine NODE_ID=…` and
 * `ENGINE_ROLE=gateway`, `engine/main/serve.ts`), a private NATS server and a
 * scratch Postgres database. Bot traders place orders through the gateways'
 * WebSocket API while the driver, round after round, adds a node, drains one
 * (SIGTERM), SIGKILLs one and starts it again under its name, SIGKILLs a
 * gateway and starts another, and restarts NATS once. Every node's
 * `/v1/operator/shards` is polled throughout.
 *
 * After every fault, and at the end, it checks against a from-scratch replay
 * of the logs in one Engine (replay-verifier.ts): every checkpointed state
 * (and at the end every assessment's final state) equals the replay at its
 * cut, every acknowledged order is journaled where the gateway said (and at
 * the end applied), and at the end every fill is on the event stream once.
 * It prints faults by kind, shards moved, and the pause of a moved shard for
 * graceful moves and crashes against their targets.
 *
 * Sizes (environment): CLUSTER_ROUNDS (3), CLUSTER_NODES (3), CLUSTER_GATEWAYS (2),
 * CLUSTER_TRADERS (48), CLUSTER_ORDER_PAUSE_MS (150), CLUSTER_LEASE_TTL_MS (10000),
 * CLUSTER_DWELL_S (4: load between faults), CLUSTER_TICK_PAUSE_MS (50: 5 ticks per this).
 * The driver's choices (which node is drained, killed, which gateway is
 * killed, each dwell between ½ and 1½ CLUSTER_DWELL_S) come from one seeded
 * generator: the test prints its seed, and CLUSTER_SEED=<seed> replays them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { test } from 'node:test';
import { SignJWT } from 'jose';
import seedrandom from 'seedrandom';
import { createTestDatabase } from '../../testing/pg-test-db.js';
import { serviceGate } from '../../testing/service-gate.js';
import { shardOf } from '../../index.js';
import { BotTraders } from './bot-traders.js';
import { ChaosLoad } from './chaos-load.js';
import { ClusterObserver } from './cluster-observer.js';
import { ClusterProcesses } from './cluster-processes.js';
import { formatClusterReport, pauseVerdicts } from './cluster-report.js';
import { MarketTap } from './market-tap.js';
import type { FaultWindow } from './pause-figures.js';
import { PrivateNats } from './private-nats.js';
import { createAssessments } from './shard-intake.js';
import { doublyServed, liveStateClaims } from './live-views.js';
import {
  compareFills,
  lostOrders,
  missingDuplicates,
  readCheckpointClaims,
  readJournal,
  readPublishedFills,
  replayAndCompare,
} from './replay-verifier.js';

const num = (name: string, d: number): number => Number(process.env[name] ?? d);
const ROUNDS = num('CLUSTER_ROUNDS', 3);
const NODES = num('CLUSTER_NODES', 3);
const GATEWAYS = num('CLUSTER_GATEWAYS', 2);
const TRADERS = num('CLUSTER_TRADERS', 48);
const ORDER_PAUSE_MS = num('CLUSTER_ORDER_PAUSE_MS', 150);
const LEASE_TTL_MS = num('CLUSTER_LEASE_TTL_MS', 10_000);
const DWELL_MS = num('CLUSTER_DWELL_S', 4) * 1000;
const TICK_PAUSE_MS = num('CLUSTER_TICK_PAUSE_MS', 50);
const SEED = process.env['CLUSTER_SEED'] ?? String(randomBytes(4).readUInt32BE(0));
const skip =
  (await serviceGate('postgres', '127.0.0.1', 5432)) ||
  (PrivateNats.available() ? false : 'nats-server is not installed (NATS_SERVER_BIN)');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
async function until(what: string, ok: () => Promise<boolean> | boolean, timeoutMs = 60_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

test('through joins, drains, SIGKILLs of nodes and a gateway and a NATS restart, no acknowledged order is lost, no fill duplicated, every state equals a replay, and no shard has two owners', {
  skip,
  timeout: 60 * 60_000,
}, async (t) => {
  const id = randomBytes(4).toString('hex');
  const say = (line: string): void => t.diagnostic(`${(performance.now() / 1000).toFixed(1)}s ${line}`);
  const rng = seedrandom(SEED);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)]!;
  say(`seed ${SEED} (CLUSTER_SEED=${SEED} replays the driver's choices)`);
  const nats = await PrivateNats.start(`cluster-${id}`);
  const db = await createTestDatabase();
  const load = await ChaosLoad.start({
    namespace: `cluster-${id}`,
    group: `cluster-${id}`,
    marketStream: `CLUSTER_MKT_${id}`,
    eventStream: `CLUSTER_EV_${id}`,
    assessments: 0,
    natsUrl: nats.url,
    tickPauseMs: TICK_PAUSE_MS,
  });
  const secret = randomBytes(32).toString('hex');
  const cluster = new ClusterProcesses({
    id: `cluster-${id}`,
    env: {
      NATS_URL: nats.url,
      DATABASE_URL: db.url,
      NATS_NAMESPACE: load.namespace,
      ENGINE_GROUP: load.group,
      MARKET_STREAM: load.marketStream,
      EVENT_STREAM: load.eventStream,
      CHECKPOINT_INTERVAL_MS: '1000',
      CLOCK_BEAT: 'off',
      LOG_LEVEL: 'info',
      ENGINE_WORKERS: '1',
      CLUSTER_LEASE_TTL_MS: String(LEASE_TTL_MS),
      COMMAND_DEADLINE_MS: '5000',
      GATEWAY_JWT_SECRET: secret,
      GATEWAY_ADDRESS_REQUESTS_PER_MINUTE: '1000000',
      GATEWAY_ADDRESS_CONNECTIONS_PER_MINUTE: '1000000',
      SIM_ESTIMATE_INTERVAL_MS: '0',
    },
  });
  const operator = await new SignJWT({ roles: ['operator'] })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('cluster-test')
    .setIssuer('vatic')
    .setAudience('vatic-gateway')
    .setIssuedAt()
    .setExpirationTime('2h')
    .sign(new TextEncoder().encode(secret));
  const observer = new ClusterObserver({ nodes: () => cluster.opsUrls(), token: operator });
  const bots = new BotTraders({
    gateways: () => cluster.gatewayUrls(),
    secret,
    prefix: `c${id}-`,
    traders: TRADERS,
    pauseMs: ORDER_PAUSE_MS,
    price: (s) => load.price(s),
  });
  const tap = new MarketTap(load.js, { stream: load.marketStream, namespace: load.namespace });
  const teardown = (): void => {
    cluster.killNow();
    nats.killNow();
  };
  process.once('exit', teardown);

  const faults = new Map<string, number>();
  const marketResumeMs: number[] = [];
  const drainExits: string[] = [];
  const windows: FaultWindow[] = [];
  const totals = { lost: 0, mismatched: 0, compared: 0, checks: 0, live: 0, doubled: 0 };
  const running = (): string[] => [...cluster.nodes.keys()];

  /** Checkpointed (and, when quiet, live) states against the replay; acknowledged orders against the journal; shards answered by two nodes. */
  const probes = new Map(Array.from({ length: TRADERS }, (_, i) => [shardOf(bots.assessmentOf(i)), bots.assessmentOf(i)] as const));
  const check = async (label: string, quiet?: { tickSeq: number }): Promise<void> => {
    const ackedBefore = [...bots.acked.values()];
    const t0 = performance.now();
    const doubled = await doublyServed(load.nc, load.namespace, probes);
    const live =
      quiet === undefined
        ? undefined
        : await liveStateClaims(
            load.nc,
            load.namespace,
            Array.from({ length: TRADERS }, (_, i) => bots.assessmentOf(i)),
            quiet.tickSeq,
          );
    const checkpointed = await readCheckpointClaims(db.sql);
    const journal = await readJournal(db.sql); // after the views: it holds every entry they reflect
    const claims = [...checkpointed, ...(live?.claims ?? [])];
    const t1 = performance.now();
    const market = await tap.upTo(Math.max(0, ...claims.map((c) => c.tickSeq)));
    const t2 = performance.now();
    const v = await replayAndCompare(market, journal, claims);
    const lost = [...lostOrders(ackedBefore, journal), ...missingDuplicates(bots.duplicates, journal)];
    const wrong = v.mismatches.length + (live?.unanswered.length ?? 0);
    totals.checks++;
    totals.compared += v.statesCompared;
    totals.live += live?.claims.reduce((n, c) => n + c.digests.size, 0) ?? 0;
    totals.mismatched += wrong;
    totals.lost += lost.length;
    totals.doubled += doubled.length;
    say(
      `check after ${label}: ${live === undefined ? '' : `${totals.live} live states + `}${checkpointed.length} checkpointed states, ${v.statesCompared} compared, mismatched ${wrong}` +
        `${wrong > 0 ? ` (${JSON.stringify({ mismatches: v.mismatches.slice(0, 3), unanswered: live?.unanswered.slice(0, 3) })})` : ''}; acknowledged ${ackedBefore.length}, lost ${lost.length}; ` +
        `shards answering twice ${doubled.length}; reads ${(t1 - t0).toFixed(0)} ms, market ${(t2 - t1).toFixed(0)} ms, replay of ${v.inputs} inputs ${v.ms.toFixed(0)} ms`,
    );
  };

  /** One fault: act, wait until the cluster settles on the nodes it leaves, record the window, check. */
  const fault = async (
    kind: string,
    pauseKind: string,
    act: () => Promise<void>,
    settle: { minShare?: number; timeoutMs?: number } = {},
  ): Promise<void> => {
    await sleep(DWELL_MS * (0.5 + rng()));
    const start = performance.now();
    await act();
    const settledAt = await observer.settled(running(), { stableMs: 2_000, timeoutMs: LEASE_TTL_MS + 90_000, ...settle });
    const acks = bots.ackCount;
    await until('orders to flow again', () => bots.ackCount >= acks + TRADERS, 120_000);
    const end = Math.max(settledAt, start);
    const moved = new Set(
      observer.log
        .moves()
        .filter((m) => m.at >= start && m.at <= end + 1)
        .map((m) => m.shard),
    );
    windows.push({ kind: pauseKind, start, end, moved });
    faults.set(kind, (faults.get(kind) ?? 0) + 1);
    say(
      `${kind}: settled in ${((end - start) / 1000).toFixed(1)} s on ${running().join(', ')}; ${moved.size} shards moved; acknowledged ${bots.ackCount}`,
    );
    await check(kind);
  };

  try {
    for (let i = 0; i < NODES; i++) await cluster.addNode();
    for (let i = 0; i < GATEWAYS; i++) await cluster.addGateway();
    await observer.settled(running(), { timeoutMs: 180_000 });
    await until(
      'the gateways to be ready',
      async () =>
        (
          await Promise.all(
            cluster.gatewayUrls().map((u) =>
              fetch(u.replace('ws://', 'http://').replace('/v1/ws', '/readyz')).then(
                (r) => r.ok,
                () => false,
              ),
            ),
          )
        ).every(Boolean),
      120_000,
    );
    say(`cluster up: ${running().join(', ')} and ${GATEWAYS} gateways`);

    await createAssessments(
      load.nc,
      load.namespace,
      Array.from({ length: TRADERS }, (_, i) => ({
        assessmentId: bots.assessmentOf(i),
        traderId: bots.traderOf(i),
        tierId: 'one-step-50k',
      })),
    );
    bots.start();
    await until('orders to be acknowledged', () => bots.ackCount >= TRADERS, 60_000);
    say(`${TRADERS} bot traders placing orders`);

    let natsRestarted = false;
    for (let round = 1; round <= ROUNDS; round++) {
      say(`round ${round}/${ROUNDS}`);
      let joined = '';
      await fault(
        'join',
        'graceful',
        async () => {
          joined = (await cluster.addNode()).name;
        },
        { minShare: 1 },
      );
      const leaving = pick(running().filter((n) => n !== joined));
      await fault('drain (SIGTERM)', 'graceful', async () => {
        const code = await cluster.drainNode(leaving);
        observer.gone(leaving);
        // Handed over: no shard still held under its name unreleased, and out of the membership.
        const [held] = await db.sql<
          { n: number }[]
        >`select count(*)::int as n from shard_owners where owner_node = ${leaving} and not released`;
        const [member] = await db.sql<{ n: number }[]>`select count(*)::int as n from cluster_members where node_id = ${leaving}`;
        assert.equal(held!.n + member!.n, 0, `${leaving} handed every shard over and left the membership before it exited`);
        drainExits.push(`${leaving} ${code}`);
        if (code !== 0) say(`${leaving} exited ${code} after its hand-over (see its log)`);
      });
      if (!natsRestarted) {
        natsRestarted = true;
        await fault('NATS restart', 'nats', async () => {
          const tail = await load.marketTail();
          const t0 = performance.now();
          await nats.restart();
          // Every node reads the market stream again: its position passes the tail of before the restart.
          const seqOf = (n: string) => (observer.latest.get(n)?.body as { marketSeq?: number } | undefined)?.marketSeq ?? 0;
          await until('every node to read the market stream again', () => running().every((n) => seqOf(n) > tail), 120_000);
          marketResumeMs.push(performance.now() - t0);
          say(`market stream read again by every node ${((performance.now() - t0) / 1000).toFixed(1)} s after the NATS restart began`);
        });
      }
      const victim = pick(running());
      await fault('SIGKILL node', 'crash', async () => {
        await cluster.kill(victim);
        observer.gone(victim);
      });
      await fault('restart killed node', 'graceful', async () => void (await cluster.addNode(victim)), { minShare: 1 });
      const gateway = pick([...cluster.gateways.keys()]);
      await fault('SIGKILL gateway', 'gateway', async () => {
        await cluster.kill(gateway);
        await cluster.addGateway();
      });
    }

    // -- quiesce, stop every node (each checkpoints what it serves), final check ---------------
    await bots.stop();
    await load.quiesce();
    const tail = await load.marketTail();
    await until(
      'every node to apply the whole market log',
      () => running().every((n) => ((observer.latest.get(n)?.body as { marketSeq?: number } | undefined)?.marketSeq ?? 0) >= tail),
      120_000,
    );
    await check('quiescing (live states of every assessment)', { tickSeq: tail });
    await observer.stop();
    await cluster.stopAll();
    const claims = await readCheckpointClaims(db.sql);
    const journal = await readJournal(db.sql);
    const shardMarks = new Map(
      (
        await db.sql<{ group_id: string; tick_seq: string; journal_pos: string }[]>`select group_id, tick_seq, journal_pos from checkpoints`
      ).map((r) => [Number(r.group_id.slice(1)), { tickSeq: Number(r.tick_seq), journalPos: Number(r.journal_pos) }]),
    );
    const final = await replayAndCompare(await tap.upTo(tail), journal, claims, { collectEvents: true });
    const lost = [
      ...lostOrders(bots.acked.values(), journal, new Map([...shardMarks].map(([s, m]) => [s, m.journalPos]))),
      ...missingDuplicates(bots.duplicates, journal),
    ];
    const unchecked = new Set(journal.map((j) => j.input.assessmentId).filter((a) => !claims.some((c) => c.digests.has(a))));
    totals.checks++;
    totals.compared += final.statesCompared;
    totals.mismatched += final.mismatches.length + unchecked.size;
    totals.lost += lost.length;
    const published = await readPublishedFills(load.js, load.jsm, load.eventStream);
    const applied = final.events.filter((e) => e.input <= (shardMarks.get(shardOf(e.assessmentId))?.tickSeq ?? -1));
    const fills = compareFills(applied, published);
    const movesByKind = new Map<string, number>();
    for (const w of windows) movesByKind.set(w.kind, (movesByKind.get(w.kind) ?? 0) + w.moved.size);
    const figures = {
      faults,
      windows,
      answers: bots.answers,
      leaseTtlMs: LEASE_TTL_MS,
      acknowledged: bots.ackCount,
      lost: totals.lost,
      duplicatedFills: fills.duplicated,
      phantomFills: fills.phantom,
      missingFills: fills.missing,
      fills: fills.total,
      mismatched: totals.mismatched,
      statesCompared: totals.compared,
      checks: totals.checks,
      liveViews: totals.live,
      overlaps: observer.log.overlaps().length + totals.doubled,
      observations: observer.log.observations,
      movesByKind,
      marketResumeMs,
      transient: bots.transient,
      refused: bots.refused,
      retries: bots.retries,
      duplicateAnswers: bots.duplicates.length,
      reconnects: bots.reconnects,
      drainExits,
      selfExits: cluster.selfExits.map((e) => `${e.name} code ${e.code}${e.reason === undefined ? '' : ` (${e.reason})`}`),
      journalEntries: journal.length,
      marketMessages: tail,
      logs: `process logs ${cluster.logs[0]?.replace(/-n1\.1-engine\.log$/, '-*.log')}`,
    };
    const summary = formatClusterReport(figures);
    process.stdout.write(`${summary}\n`);
    for (const line of summary.split('\n')) t.diagnostic(line);
    if (unchecked.size > 0) say(`assessments with no final checkpoint: ${[...unchecked].slice(0, 5).join(', ')}`);

    assert.ok(bots.ackCount > TRADERS, 'orders were acknowledged');
    assert.equal(figures.lost, 0, 'no acknowledged order is lost');
    assert.equal(figures.duplicatedFills + figures.phantomFills, 0, 'no fill is published twice or made up');
    assert.equal(figures.missingFills, 0, 'every fill reached the event stream');
    assert.equal(figures.mismatched, 0, 'every state equals its replay');
    assert.equal(figures.overlaps, 0, 'no shard was served by two nodes at once');
    for (const [kind, v] of pauseVerdicts(figures))
      if (v.met === false) t.diagnostic(`pause target missed for ${kind} moves (p99 ${v.p99.toFixed(0)} ms)`);
  } finally {
    process.off('exit', teardown);
    await bots.stop().catch(() => undefined);
    await observer.stop().catch(() => undefined);
    await cluster.stopAll().catch(() => undefined);
    await tap.stop().catch(() => undefined);
    await load.close().catch(() => undefined);
    await db.drop().catch(() => undefined);
    await nats.close();
  }
});
