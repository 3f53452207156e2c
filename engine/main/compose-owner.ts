/**
 * The owner side of the routing plane on an engine node: its shards served
 * on `engine.shard.<v>.*`, their watched streams published on
 * `engine.stream.<assessment>`, its leaderboard on `engine.leaderboard`
 * (transport/nats/shard-service.ts), over a NATS connection of its own.
 * Without NATS there is no routing plane: the in-process gateway is the only one.
 */
import { hostname } from 'node:os';
import { connect } from '@nats-io/transport-node';
import type { Logger } from 'pino';
import { Counter, Gauge } from 'prom-client';
import { countedWatch, ShardService, natsServer } from '../../transport/nats/index.js';
import type { ComposedNode } from './compose-node.js';
import type { LateOutput } from './compose-gateway.js';
import { clusterShardHost } from './cluster-shard-host.js';

/** What the owner side runs on. */
export interface OwnerConfig {
  /** NATS server; unset: no routing plane. */
  readonly natsUrl?: string;
  /** Subject namespace. @default '' */
  readonly namespace?: string;
  /** This node's name in announcements. @default `<hostname>-<pid>` */
  readonly nodeId?: string;
}

/** A running owner side. */
export interface ComposedOwner {
  readonly service: ShardService;
  /** The engine's watch, counted: give it to an in-process gateway too. */
  readonly watch: (ids: readonly string[], on: boolean) => void;
  close(): Promise<void>;
}

/** Serve the node's shards over NATS; undefined without NATS. */
export async function composeOwner(
  composed: ComposedNode,
  late: LateOutput,
  config: OwnerConfig,
  log: Logger,
): Promise<ComposedOwner | undefined> {
  if (!config.natsUrl) return undefined;
  const nodeId = config.nodeId ?? `${hostname()}-${process.pid}`;
  const nc = await connect({
    ...natsServer(config.natsUrl),
    name: `engine-owner-${nodeId}`,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 10_000,
    maxPingOut: 3,
  });
  const node = composed.node;
  const watch = countedWatch((ids, on) => node.engine.watch(ids, on));
  const refused = new Counter({
    name: 'engine_shard_requests_refused_total',
    help: 'Requests on engine.shard.<v>.* and engine.leaderboard refused as malformed, by kind.',
    labelNames: ['kind'],
    registers: [composed.registry],
  });
  const slog = log.child({ component: 'shard-service' });
  const service = new ShardService(nc, clusterShardHost(node, nodeId, watch), {
    namespace: config.namespace ?? '',
    leaderboard: composed.shared.leaderboard,
    leaderboardShared: composed.shared.kind === 'redis',
    log: slog,
    onMalformed: (kind, reason) => {
      refused.inc({ kind });
      slog.warn({ kind, reason }, 'shard request refused');
    },
    onError: (err) => slog.warn({ err }, 'a live frame was not published'),
  });
  new Gauge({
    name: 'engine_streams_published',
    help: 'Assessment streams published for gateways (watched under a live lease).',
    registers: [composed.registry],
    collect() {
      this.set(service.publisher.streams);
    },
  });
  late.targets.push(service.publisher);
  try {
    await service.start();
  } catch (err) {
    late.targets = late.targets.filter((t) => t !== service.publisher);
    await nc.close();
    throw err;
  }
  slog.info({ nodeId, shards: service.shards }, 'serving shards over NATS');
  return {
    service,
    watch,
    async close() {
      await service.stop();
      late.targets = late.targets.filter((t) => t !== service.publisher);
      await nc.drain().catch(() => nc.close());
    },
  };
}
