/**
 * Builds an engine node from configuration: JetStream, Postgres and Redis
 * when their URLs are set, the embedded defaults otherwise (an in-process
 * market bus, Postgres in-process under the data directory, in-process
 * shared state). The one place that knows every concrete part.
 */
import { join } from 'node:path';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import postgres from 'postgres';
import { Registry } from 'prom-client';
import { DEFAULT_INSTRUMENTS, presetTiers } from '../../actors/index.js';
import {
  convertLegacyGroup,
  createSharedState,
  migrate,
  PgMembership,
  PgShardJournal,
  PgShardStore,
  HistoryProjector,
  PgHistoryReader,
  PgHistoryStore,
  PgReportStore,
  tapMarketLog,
  type HistoryEvent,
} from '../../persistence/index.js';
import {
  JetStreamHistoryConsumer,
  eventSubject,
  domainEventSubjects,
  ensureEventStream,
  ensureMarketStream,
  JetStreamEventPublisher,
  marketSubjects,
  TickPublisher,
  withNamespace,
  IntakeService,
  JetStreamMarketLog,
  natsServer,
} from '../../transport/nats/index.js';
import { MemoryMarketLog } from '../../transport/memory/index.js';
import { Encoder } from '@msgpack/msgpack';
import { ClusterMetrics, ClusterNode, NodeMetrics, type EngineOutput, type MarketLog } from '../index.js';
import { boundedStep } from './bounded-step.js';
import { FanOut } from './fan-out.js';
import { leaderboardOutput } from './leaderboard-output.js';
import type { ComposedHistory, ComposedNode, NodeConfig } from './node-config.js';

export { boundedStep } from './bounded-step.js';
export type { ComposedHistory, ComposedNode, NodeConfig } from './node-config.js';

/** Raised for a configuration a node cannot run with. */
export class ClusterConfigError extends Error {
  readonly code = 'CLUSTER_CONFIG';
  constructor(message: string) {
    super(message);
    this.name = 'ClusterConfigError';
  }
}

/**
 * The market log as the node reads it, with each market input the live
 * reader reaches handed to the history (marks). Catch-up readers of a shard
 * moving in read older inputs again: only inputs past the newest seen count.
 */
function marked(market: MarketLog, projector: HistoryProjector | undefined): MarketLog {
  if (projector === undefined) return market;
  let newest = 0;
  return tapMarketLog(market, (input) => {
    if (input.seq <= newest) return;
    newest = input.seq;
    projector.mark(input);
  });
}

/** Start a node on the configured (or embedded) parts. */
export async function composeNode(config: NodeConfig, log: Logger, extraOutputs: EngineOutput[] = []): Promise<ComposedNode> {
  const group = config.group ?? 'default';
  const dataDir = config.dataDir ?? './data';
  const closers: Array<{ readonly name: string; readonly close: () => Promise<unknown> }> = [];
  const closer = (name: string, close: () => Promise<unknown>): void => void closers.push({ name, close });
  // Every step of a stop is bounded: one part that does not answer (a consumer mid-pull, a server
  // gone) must not keep the others open or hold the process past its supervisor's grace period.
  const closeAll = async (): Promise<void> => {
    for (const c of closers.reverse()) await boundedStep(c.name, c.close, config.closeStepMs ?? 1_500, log);
  };
  const registry = new Registry();
  const metrics = new NodeMetrics(registry);
  const clusterMetrics = new ClusterMetrics(registry);
  if (config.nodeId !== undefined && (!config.natsUrl || !config.databaseUrl)) {
    throw new ClusterConfigError(
      'a cluster node (NODE_ID set) needs NATS_URL and DATABASE_URL: every node must read one market log and one database',
    );
  }
  try {
    // Postgres: journal and checkpoints.
    let sql: postgres.Sql;
    let journalDesc: string;
    let copy = true;
    if (config.databaseUrl) {
      sql = postgres(config.databaseUrl, { max: 4, onnotice: () => {}, connect_timeout: 5 });
      const u = new URL(config.databaseUrl);
      journalDesc = `postgres ${u.hostname}:${u.port || 5432}${u.pathname}`;
    } else {
      const { EmbeddedPostgres, recommendedClientOptions } = await import('../../persistence/index.js');
      const dir = join(dataDir, 'pg');
      const pg = await EmbeddedPostgres.start({ dataDir: dir });
      closer('embedded postgres', () => pg.stop());
      sql = postgres(pg.url, { ...recommendedClientOptions, onnotice: () => {} });
      copy = false; // PGlite has no COPY FROM STDIN
      journalDesc = `embedded postgres (PGlite) in ${dir}`;
    }
    closer('postgres client', () => sql.end({ timeout: 5 }));
    const migrated = await migrate(sql);
    if (migrated.applied.length > 0) log.info({ applied: migrated.applied }, 'migrations applied');
    const converted = await convertLegacyGroup(sql, group);
    if (converted.converted) log.info({ group, ...converted }, 'single-group rows converted to per-shard rows');

    const shared = await createSharedState(config.redisUrl ? { redisUrl: config.redisUrl } : {});
    closer('shared state', () => shared.close());
    const leaderboard = leaderboardOutput(shared, log);

    // Market log and events.
    let market: MarketLog & { tail(): Promise<number> };
    let memoryMarket: MemoryMarketLog | undefined;
    let tickPublisher: TickPublisher | undefined;
    let nc: NatsConnection | undefined;
    const outputs: EngineOutput[] = [leaderboard, ...extraOutputs];
    const namespace = config.namespace ?? '';
    // History: in process without NATS (what the events stream would carry), else from its durable consumer; marks from what the node reads.
    const listeners = new Set<(fresh: readonly HistoryEvent[]) => void>();
    const heard = (fresh: readonly HistoryEvent[]): void => {
      for (const l of listeners) l(fresh);
    };
    const historyOn = config.history ?? true;
    const historyStore = historyOn ? new PgHistoryStore(sql) : undefined;
    const projector =
      historyStore === undefined
        ? undefined
        : new HistoryProjector({
            store: historyStore,
            accept: config.natsUrl ? () => false : (type) => eventSubject(type) !== undefined,
            onIngested: heard,
            onError: (err, dropped) => log.warn({ err, dropped }, 'history write failed'),
          });
    if (projector !== undefined) {
      outputs.push(projector);
      // Closed before the client it writes with (closers run in reverse): after a stop without a hand-over
      // (or a halt) events may still be queued, and a write to a closed client is retried for ever.
      closer('history projector', () => projector.close());
    }
    if (config.natsUrl) {
      // Pings every 10 s, three unanswered end the link: a cut that drops packets
      // (no reset) is noticed in ~30 s, not after TCP's retransmit backoff.
      nc = await connect({
        ...natsServer(config.natsUrl),
        name: `engine-${config.nodeId ?? group}`,
        maxReconnectAttempts: -1,
        reconnectTimeWait: 250,
        pingInterval: 10_000,
        maxPingOut: 3,
      });
      const conn = nc;
      closer('nats connection', () => conn.drain().catch(() => conn.close()));
      const js = jetstream(nc);
      const jsm = await jetstreamManager(nc);
      await ensureMarketStream(jsm, { name: config.marketStream ?? 'MARKET', subjects: marketSubjects(namespace) });
      await ensureEventStream(jsm, { name: config.eventStream ?? 'EVENTS', subjects: domainEventSubjects(namespace) });
      market = new JetStreamMarketLog(js, jsm, {
        stream: config.marketStream ?? 'MARKET',
        namespace,
        instruments: DEFAULT_INSTRUMENTS,
        onMalformed: (m) => {
          metrics.marketRejected.inc({ reason: m.kind });
          log.warn({ seq: m.seq, subject: m.subject, reason: m.reason }, 'market message skipped');
        },
      });
      tickPublisher = new TickPublisher(js, { namespace });
      outputs.push(
        new JetStreamEventPublisher(js, {
          namespace,
          retryFailed: true,
          timeoutMs: 5_000,
          onError: (f) => log.warn({ subject: f.subject, msgId: f.msgId, err: f.error.message }, 'event publish failed; retrying'),
        }),
      );
    } else {
      memoryMarket = new MemoryMarketLog();
      market = memoryMarket;
    }

    const store = new PgShardStore(sql, {
      copy,
      onOversize: (e) => {
        metrics.snapshotOversized.inc();
        log.warn({ assessmentId: e.assessmentId, bytes: e.bytes, limit: e.limit, code: e.code }, 'snapshot over the size cap');
      },
    });
    const node = await ClusterNode.start({
      market: marked(market, projector),
      journal: new PgShardJournal(sql),
      store,
      membership: new PgMembership(sql),
      ...(config.nodeId === undefined ? {} : { nodeId: config.nodeId }),
      leaseTtlMs: config.leaseTtlMs ?? 10_000,
      maxMoves: config.maxMoves ?? 128,
      marketTail: () => market.tail(),
      engine: {
        workers: config.workers ?? 2,
        tiers: presetTiers(),
        instruments: DEFAULT_INSTRUMENTS,
        // The engine's own refusals (a second resolution of a market, anything the market log let through).
        onRefusedInput: (r) => {
          metrics.marketRejected.inc({ reason: r.reason.toLowerCase() });
          log.warn({ input: r.input, type: r.type, subject: r.subject, reason: r.reason }, 'market input refused by the engine');
        },
        flushIntervalMs: config.flushIntervalMs ?? 250,
        measureLatency: config.measureLatency ?? false,
      },
      output: new FanOut(outputs),
      checkpointIntervalMs: config.checkpointIntervalMs ?? 5_000,
      log: log.child(config.nodeId === undefined ? { group } : { node: config.nodeId }),
      metrics,
      clusterMetrics,
    });
    closer('engine node', () => node.stop({ handOver: false }));
    // A solo node serves every shard before anything is built on it (the stream epoch, the trader index).
    // A cluster member goes on at once: its share arrives as others hand it over, and /readyz says when.
    if (config.nodeId === undefined) await node.ready;

    // A solo node serves every shard: one intake subject for it all. Cluster nodes are reached per shard.
    if (nc !== undefined && config.nodeId === undefined) {
      const service = new IntakeService(nc, node, {
        group,
        namespace,
        onMalformed: (reason) => {
          metrics.intake.inc({ result: 'MALFORMED_REQUEST' });
          log.warn({ reason }, 'intake request refused');
        },
      });
      closer('intake service', () => service.stop());
    }
    if (nc !== undefined && historyStore !== undefined) {
      const store = historyStore;
      const consumer = await JetStreamHistoryConsumer.start(jetstream(nc), await jetstreamManager(nc), {
        stream: config.eventStream ?? 'EVENTS',
        durable: config.historyConsumer ?? 'history',
        namespace,
        sink: async (events) => heard(await store.ingest(events)),
        onError: (err, what) => log.warn({ err }, `history consumer could not ${what}`),
      });
      closer('history consumer', () => consumer.stop());
    }
    let beat: NodeJS.Timeout | undefined;
    if ((config.clockBeat ?? nc !== undefined) && tickPublisher !== undefined) {
      const pub = tickPublisher;
      beat = setInterval(() => {
        pub.publishClock(Math.floor(Date.now() / 1000) * 1000).catch((err: unknown) => log.warn({ err }, 'clock beat not published'));
      }, 1_000);
      beat.unref();
    }
    const backends = {
      market:
        nc === undefined
          ? 'in-process bus (not durable: ticks do not survive a restart)'
          : `nats jetstream ${config.natsUrl} stream ${config.marketStream ?? 'MARKET'}`,
      journal: journalDesc,
      events: nc === undefined ? 'in-process only' : `nats jetstream stream ${config.eventStream ?? 'EVENTS'}`,
      shared: shared.kind === 'redis' ? `redis ${new URL(config.redisUrl!).host}` : 'in-process',
    };
    const natsForEvents = nc;
    const encoder = new Encoder({ ignoreUndefined: true });
    const history: ComposedHistory | undefined =
      historyStore === undefined
        ? undefined
        : {
            store: historyStore,
            reader: new PgHistoryReader(sql),
            reports: new PgReportStore(sql),
            durable: nc !== undefined,
            listen: (l) => void listeners.add(l),
          };
    return {
      history,
      node,
      registry,
      memoryMarket,
      tickPublisher,
      shared,
      backends,
      marketTail: () => market.tail(),
      sql,
      store,
      async publish(subject, payload) {
        if (natsForEvents === undefined) return void log.info({ subject, payload }, 'platform event (no event stream configured)');
        await jetstream(natsForEvents).publish(withNamespace(subject, namespace), encoder.encode(payload));
      },
      async close() {
        if (beat !== undefined) clearInterval(beat);
        // The hand-over itself gets the larger share of the supervisor's grace period; past it the
        // shards still held are taken over when this node's lease lapses, as after a crash.
        await boundedStep('hand-over', () => node.stop(), config.handOverMs ?? 15_000, log);
        await closeAll();
      },
    };
  } catch (err) {
    await closeAll();
    throw err;
  }
}
