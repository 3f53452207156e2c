/**
 * The options of a cluster node, apart from the node so that the allocation
 * rounds can read them without importing the node.
 */
import type { Logger } from 'pino';
import type { EngineOptions, EngineOutput } from '../engine.js';
import type { MarketLog } from '../node/ports.js';
import type { NodeMetrics } from '../node/node-metrics.js';
import type { ClusterMetrics } from './cluster-metrics.js';
import type { MembershipStore, ShardJournal, ShardStore } from './cluster-ports.js';

/** Options of {@link ClusterNode.start}. */
export interface ClusterNodeOptions {
  readonly market: MarketLog;
  readonly journal: ShardJournal;
  readonly store: ShardStore;
  /** Membership leases; required with `nodeId`. */
  readonly membership?: MembershipStore;
  /** This node's name in the cluster; unset, a solo node that serves every shard. @default solo */
  readonly nodeId?: string;
  /** Lease of a member, ms. @default 10_000 */
  readonly leaseTtlMs?: number;
  /** Most shards taken, and most handed over, per allocation round. @default 128 */
  readonly maxMoves?: number;
  /** Time between allocation rounds when nothing moves, ms. @default min(1_000, leaseTtlMs / 4) */
  readonly roundMs?: number;
  /** Engine settings (workers, tiers, instruments, ...). @default Engine defaults */
  readonly engine?: Omit<EngineOptions, 'output'>;
  /** Events and deltas go here (shard -1 for events of a catch-up). @default none */
  readonly output?: EngineOutput;
  /** Time between checkpoints, ms; 0 checkpoints only on hand-over and `checkpointNow()`. @default 5_000 */
  readonly checkpointIntervalMs?: number;
  /** A shard whose stored checkpoint is older than this is written even if nothing of it changed, ms. @default 60_000 */
  readonly staleCheckpointMs?: number;
  /** Most entries in one journal write. @default 2_048 */
  readonly maxJournalBatch?: number;
  /** Inputs the shards may have pending before the market pump waits for them. @default 32_768 */
  readonly maxBacklog?: number;
  /** Market inputs kept in memory so a shard taken from a recent checkpoint catches up without reading the market log. @default 50_000 */
  readonly recentMarketInputs?: number;
  /** Highest market seq now, to tell when the node has caught up at start. @default caught up at once */
  readonly marketTail?: () => Promise<number>;
  /** Stored with the membership row (e.g. the ops address). @default {} */
  readonly memberInfo?: Record<string, unknown>;
  /** @default silent */
  readonly log?: Logger;
  readonly metrics?: NodeMetrics;
  readonly clusterMetrics?: ClusterMetrics;
}
