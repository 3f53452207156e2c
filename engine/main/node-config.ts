/**
 * What `composeNode` (compose-node.ts) takes and gives: the process's
 * configuration, and the running node with what it runs on.
 */
import type postgres from 'postgres';
import type { Registry } from 'prom-client';
import type { HistoryEvent, PgHistoryReader, PgHistoryStore, PgReportStore, PgShardStore, SharedState } from '../../persistence/index.js';
import type { MemoryMarketLog } from '../../transport/memory/index.js';
import type { TickPublisher } from '../../transport/nats/index.js';
import type { ClusterNode } from '../index.js';

/** Process configuration; every field has an embedded default. */
export interface NodeConfig {
  /** NATS server; unset: an in-process market bus and no event stream. */
  readonly natsUrl?: string;
  /** Postgres; unset: Postgres in-process under `dataDir`. */
  readonly databaseUrl?: string;
  /** Redis; unset: in-process shared state. */
  readonly redisUrl?: string;
  /** @default './data' */
  readonly dataDir?: string;
  /**
   * Names the intake subjects of a solo node (`engine.<group>.intake`), and
   * the single group whose rows an older version wrote, converted to
   * per-shard rows at start. @default 'default'
   */
  readonly group?: string;
  /** This node's name in a cluster (needs NATS and Postgres); unset: a solo node that serves every shard. */
  readonly nodeId?: string;
  /** A cluster member's lease, ms. @default 10_000 */
  readonly leaseTtlMs?: number;
  /** Most shards taken, and most handed over, per allocation round. @default 128 */
  readonly maxMoves?: number;
  /** Subject namespace on NATS. @default '' */
  readonly namespace?: string;
  /** @default 'MARKET' */
  readonly marketStream?: string;
  /** @default 'EVENTS' */
  readonly eventStream?: string;
  /** @default 2 */
  readonly workers?: number;
  /** @default 5_000 */
  readonly checkpointIntervalMs?: number;
  /** Publish a clock beat to the market log every second of wall time. @default true with NATS */
  readonly clockBeat?: boolean;
  /** Record tick-to-verdict latency in the shards. @default false */
  readonly measureLatency?: boolean;
  /** State-delta flush interval, ms. @default 250 */
  readonly flushIntervalMs?: number;
  /** Keep the history read model (persistence/history/): from the events stream's durable consumer `historyConsumer` with NATS, in process without. @default true */
  readonly history?: boolean;
  /** Durable consumer of the events stream feeding the history. @default 'history' */
  readonly historyConsumer?: string;
  /** Longest the hand-over of every shard on a stop may take, ms. @default 15_000 */
  readonly handOverMs?: number;
  /** Longest any one step of a stop after the hand-over may take (closing a consumer, a connection), ms. @default 1_500 */
  readonly closeStepMs?: number;
}

/** The history read model of a node, and who hears of the events it adds. */
export interface ComposedHistory {
  readonly store: PgHistoryStore;
  readonly reader: PgHistoryReader;
  readonly reports: PgReportStore;
  /** Whether the market log survives the process (a dispute desk can cut a tape from it). */
  readonly durable: boolean;
  /** Hear of the events each batch added (not those already there): report triggers. */
  listen(listener: (fresh: readonly HistoryEvent[]) => void): void;
}

/** A running node and what it runs on. */
export interface ComposedNode {
  readonly node: ClusterNode;
  readonly registry: Registry;
  /** The in-process bus, when no NATS is configured (the demo feed publishes into it). */
  readonly memoryMarket: MemoryMarketLog | undefined;
  /** Publishes into the market stream, when NATS is configured. */
  readonly tickPublisher: TickPublisher | undefined;
  readonly shared: SharedState;
  /** The Postgres client of the journal and checkpoints (purchases share it). */
  readonly sql: postgres.Sql;
  /** Shard ownership and checkpoints (the ops server reads owner rows from it). */
  readonly store: PgShardStore;
  /** Publish a platform event (payments) to the events stream; logged only without NATS. */
  publish(subject: string, payload: object): Promise<void>;
  /** The market log's last sequence now. */
  marketTail(): Promise<number>;
  /** The history read model; undefined when turned off. */
  readonly history: ComposedHistory | undefined;
  /** What is in use, as the start-up log states it. */
  readonly backends: { readonly market: string; readonly journal: string; readonly events: string; readonly shared: string };
  /** Graceful stop: hand every shard over (checkpoint, released), leave the cluster, close every connection. */
  close(): Promise<void>;
}
