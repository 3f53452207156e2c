/**
 * A stateless gateway (`ENGINE_ROLE=gateway`): no shards, no journal. Orders
 * and reads go to the owner of each assessment's virtual shard over NATS
 * (transport/nats/shard-router.ts), live streams come from the owners
 * (remote-streams.ts), which assessments a trader holds is read from the
 * events stream (assessment-directory.ts), the leaderboard from every engine
 * node. Postgres holds what the gateway itself writes (purchases,
 * simulations); Redis, when configured, the limits every gateway shares.
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Encoder } from '@msgpack/msgpack';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import postgres from 'postgres';
import { Registry } from 'prom-client';
import { createSharedState, migrate, PgHistoryReader, PgHistoryStore, PgReportStore } from '../../persistence/index.js';
import { TraderIndex } from '../../transport/server/index.js';
import {
  followAssessmentCreations,
  ensureEventStream,
  RemoteStreams,
  ShardRouter,
  domainEventSubjects,
  withNamespace,
  natsServer,
} from '../../transport/nats/index.js';
import { startGateway, type ComposedGateway, type GatewayConfig } from './compose-gateway.js';

/** A remote gateway's configuration: the gateway's own, and where the cluster is. */
export interface RemoteGatewayConfig extends GatewayConfig {
  readonly natsUrl: string;
  readonly databaseUrl: string;
  /** Redis for the limits shared by gateways; unset: in-process limits. */
  readonly redisUrl?: string;
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** @default 'EVENTS' */
  readonly eventStream?: string;
  /** How long a command is retried while its shard moves, ms. @default 5_000 */
  readonly commandDeadlineMs?: number;
  /** This gateway's id in watch leases. @default `gw-<hostname>-<pid>-<random>` */
  readonly gatewayId?: string;
}

/** A running remote gateway. */
export interface ComposedRemoteGateway extends ComposedGateway {
  readonly router: ShardRouter;
  readonly streams: RemoteStreams;
  readonly registry: Registry;
  readonly traders: TraderIndex;
}

/**
 * Connect to the cluster and start a gateway in front of it. `ownership`:
 * the ownership map of an engine node in the same process (ENGINE_ROLE=all
 * with NODE_ID), shown to operators on `/v1/operator/shards`.
 */
export async function composeRemoteGateway(
  config: RemoteGatewayConfig,
  log: Logger,
  ownership?: () => Promise<unknown>,
): Promise<ComposedRemoteGateway> {
  const closers: Array<() => Promise<unknown>> = [];
  const namespace = config.namespace ?? '';
  try {
    const nc: NatsConnection = await connect({
      ...natsServer(config.natsUrl),
      name: 'gateway',
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 10_000,
      maxPingOut: 3,
    });
    closers.push(() => nc.drain().catch(() => nc.close()));
    const sql = postgres(config.databaseUrl, { max: 4, onnotice: () => {}, connect_timeout: 5 });
    closers.push(() => sql.end({ timeout: 5 }));
    await migrate(sql); // purchases and simulations: the gateway may start before any node
    const shared = await createSharedState(config.redisUrl ? { redisUrl: config.redisUrl } : {});
    closers.push(() => shared.close());
    const registry = new Registry();
    const router = new ShardRouter(nc, { namespace, deadlineMs: config.commandDeadlineMs ?? 5_000, registry });
    router.start();
    closers.push(async () => router.close());
    const gatewayId =
      config.gatewayId ??
      `gw-${hostname()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .slice(0, 32)}-${process.pid}-${randomBytes(3).toString('hex')}`;
    const streams = new RemoteStreams(nc, router, {
      gateway: gatewayId,
      namespace,
      registry,
      log: log.child({ component: 'remote-streams' }),
    });
    streams.start();
    closers.push(async () => streams.close());
    const js = jetstream(nc);
    const eventStream = config.eventStream ?? 'EVENTS';
    await ensureEventStream(await jetstreamManager(nc), { name: eventStream, subjects: domainEventSubjects(namespace) });
    const traders = new TraderIndex();
    const directory = await followAssessmentCreations(js, { stream: eventStream, namespace, onCreated: (t, a) => traders.add(t, a), log });
    closers.push(() => directory.stop());
    const encoder = new Encoder({ ignoreUndefined: true });
    const gateway = await startGateway(
      {
        engine: router,
        hub: streams.hub,
        snapshots: (id) => streams.snapshot(id),
        owners: traders,
        registry,
        shared,
        sql,
        leaderboard: { top: (n) => router.leaderboard(n) },
        publish: async (subject, payload) => void (await js.publish(withNamespace(subject, namespace), encoder.encode(payload))),
        shards: () => ({ role: 'gateway', gateway: gatewayId, owners: router.owners() }),
        ...(ownership === undefined ? {} : { ownership }),
        // The nodes keep the history in Postgres (from the events stream); this gateway reads it and makes reports on request.
        history: {
          store: new PgHistoryStore(sql),
          reader: new PgHistoryReader(sql),
          reports: new PgReportStore(sql),
          durable: true,
          listen: () => {},
        },
      },
      config,
      log,
    );
    log.info({ gatewayId, namespace }, 'gateway routing to the cluster');
    return {
      ...gateway,
      router,
      streams,
      registry,
      traders,
      async close() {
        await gateway.close();
        for (const c of closers.reverse()) await c().catch(() => undefined);
      },
    };
  } catch (err) {
    for (const c of closers.reverse()) await c().catch(() => undefined);
    throw err;
  }
}
