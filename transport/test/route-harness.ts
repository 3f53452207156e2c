/**
 * A small cluster for routing tests, on the real services: cluster nodes on
 * a JetStream market stream and a Postgres journal, membership and shard
 * owners (each node takes its share; a node that stops hands its shards to
 * the others, a node that starts takes its share), each serving its shards
 * over NATS (ShardService), and gateways with no engine (ShardRouter,
 * RemoteStreams) in front of them. Everything is under a namespace of its own.
 */
import { randomBytes } from 'node:crypto';
import { jetstream, jetstreamManager, type JetStreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import WebSocket from 'ws';
import { presetTiers } from '../../actors/index.js';
import { LateOutput } from '../../engine/main/compose-gateway.js';
import { clusterShardHost } from '../../engine/main/cluster-shard-host.js';
import { ClusterNode, type IntakeRequest } from '../../engine/index.js';
import { createTestDatabase, type TestDatabase } from '../../engine/testing/index.js';
import { MemoryLeaderboard, PgMembership, PgShardJournal, PgShardStore } from '../../persistence/index.js';
import { VaticClient, type SocketConstructor } from '../client/vatic-client.js';
import { Gateway } from '../server/gateway.js';
import { GatewayMetrics } from '../server/gateway-metrics.js';
import { TokenVerifier } from '../server/token-verifier.js';
import { ensureMarketStream, marketSubjects, TickPublisher } from '../nats/index.js';
import { JetStreamMarketLog } from '../nats/jetstream-market-log.js';
import { RemoteStreams } from '../nats/remote-streams.js';
import { countedWatch } from '../nats/shard-host.js';
import { ShardRouter, type ShardRouterOptions } from '../nats/shard-router.js';
import { ShardService, type ShardServiceOptions } from '../nats/shard-service.js';
import type { RoutedIntakeResult } from '../nats/shard-wire.js';
import { SECRET, T0, token } from './gateway-harness.js';

/** A cluster node serving its shards over NATS. */
export interface Owner {
  readonly name: string;
  readonly node: ClusterNode;
  readonly service: ShardService;
  readonly nc: NatsConnection;
  /** Offers whose answers are being held (see `holdReplies`). */
  readonly held: number;
  /** Hold the answers of offers (journaled and applied all the same) until `releaseReplies`. */
  holdReplies(): void;
  releaseReplies(): void;
  /** Hand every shard over (each one's subscriptions drained as it goes), leave, stop. */
  stop(): Promise<void>;
}

/** A gateway with no engine. */
export interface RemoteGateway {
  readonly router: ShardRouter;
  readonly streams: RemoteStreams;
  readonly gateway: Gateway;
  readonly registry: Registry;
  readonly url: string;
  connect(sub: string): Promise<VaticClient>;
  stop(): Promise<void>;
}

export interface RouteWorld {
  readonly namespace: string;
  readonly nc: NatsConnection;
  readonly db: TestDatabase;
  /** Start cluster node `name`; it serves its share once the allocation rounds hand it over. */
  startOwner(name: string, o?: Partial<ShardServiceOptions>): Promise<Owner>;
  startGateway(o?: ShardRouterOptions & { renewMs?: number }): Promise<RemoteGateway>;
  /** Publish a BTC tick at `price`; resolves with its market seq. */
  tick(price: number): Promise<number>;
  stop(): Promise<void>;
}

/** Start the services' side of a world: streams and a database, no node yet. */
export async function startWorld(): Promise<RouteWorld> {
  const id = randomBytes(4).toString('hex');
  const namespace = `route-${id}`;
  const stream = `ROUTE_${id}`;
  const nc = await connect({ servers: '127.0.0.1:4222' });
  const jsm: JetStreamManager = await jetstreamManager(nc);
  const js = jetstream(nc);
  await ensureMarketStream(jsm, { name: stream, subjects: marketSubjects(namespace) });
  const publisher = new TickPublisher(js, { namespace });
  let now = T0;
  await publisher.publishClock(now);
  await publisher.publishTick({ venue: 'coinbase', symbol: 'BTC-USD', ts: now, bid: 60_000, ask: 60_010 });
  const db = await createTestDatabase();
  const log = pino({ level: 'silent' });
  const stoppers: Array<() => Promise<void>> = [];

  return {
    namespace,
    nc,
    db,
    async startOwner(name, o = {}) {
      const onc = await connect({ servers: '127.0.0.1:4222' });
      const market = new JetStreamMarketLog(js, jsm, { stream, namespace });
      const late = new LateOutput();
      const node = await ClusterNode.start({
        market,
        journal: new PgShardJournal(db.sql),
        store: new PgShardStore(db.sql),
        membership: new PgMembership(db.sql),
        nodeId: name,
        leaseTtlMs: 3_000,
        roundMs: 100,
        marketTail: () => market.tail(),
        engine: { workers: 1, tiers: presetTiers(), flushIntervalMs: 50 },
        checkpointIntervalMs: 0,
        output: late,
        log: log.child({ node: name }),
      });
      let hold: { promise: Promise<void>; release: () => void } | undefined;
      let held = 0;
      const host = clusterShardHost(
        node,
        name,
        countedWatch((ids, on) => node.engine.watch(ids, on)),
      );
      const service = new ShardService(
        onc,
        {
          ...host,
          // The node journals and applies as ever; only the answer may be held (lost on the way, as far as the gateway can tell).
          offer: async (req: IntakeRequest): Promise<RoutedIntakeResult> => {
            const r = await node.offer(req);
            if (hold !== undefined) {
              held++;
              await hold.promise;
            }
            return r;
          },
        },
        { namespace, log, leaderboard: new MemoryLeaderboard(), ...o },
      );
      late.targets.push(service.publisher);
      await service.start();
      let stopped = false;
      const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        await node.stop(); // each shard's subscriptions drain as it is handed over
        await service.stop();
        hold?.release();
        await onc.close();
      };
      stoppers.push(stop);
      return {
        name,
        node,
        service,
        nc: onc,
        stop,
        get held() {
          return held;
        },
        holdReplies() {
          let release!: () => void;
          hold = { promise: new Promise((r) => (release = r)), release: () => release() };
        },
        releaseReplies() {
          hold?.release();
          hold = undefined;
        },
      };
    },
    async startGateway(o = {}) {
      const gnc = await connect({ servers: '127.0.0.1:4222' });
      const registry = new Registry();
      const router = new ShardRouter(gnc, { namespace, registry, ...o });
      router.start();
      const streams = new RemoteStreams(gnc, router, {
        gateway: `gw-${randomBytes(3).toString('hex')}`,
        namespace,
        registry,
        ...(o.renewMs === undefined ? {} : { renewMs: o.renewMs }),
      });
      streams.start();
      const verifier = await TokenVerifier.create({ secret: SECRET });
      const gateway = await Gateway.start({
        engine: router,
        verifier,
        hub: streams.hub,
        snapshots: (id) => streams.snapshot(id),
        metrics: new GatewayMetrics(registry, streams.hub),
        log,
        port: 0,
        authTimeoutMs: 2_000,
      });
      const url = `ws://127.0.0.1:${gateway.port}/v1/ws`;
      let stopped = false;
      const stop = async (): Promise<void> => {
        if (stopped) return;
        stopped = true;
        await gateway.drain();
        streams.close();
        router.close();
        await gnc.close();
      };
      stoppers.push(stop);
      return {
        router,
        streams,
        gateway,
        registry,
        url,
        stop,
        async connect(sub) {
          return VaticClient.connect(url, await token(sub), { WebSocket: WebSocket as unknown as SocketConstructor, timeoutMs: 20_000 });
        },
      };
    },
    async tick(price) {
      now += 1_000;
      return (await publisher.publishTick({ venue: 'coinbase', symbol: 'BTC-USD', ts: now, bid: price, ask: price + 10 })).seq;
    },
    async stop() {
      for (const s of stoppers.reverse()) await s().catch(() => undefined);
      await jsm.streams.delete(stream).catch(() => undefined);
      await nc.close();
      await db.drop();
    },
  };
}
