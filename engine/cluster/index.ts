/**
 * engine/cluster/: virtual shards owned one by one across engine nodes:
 * membership leases, rendezvous allocation with bounded loads and moves, and
 * the node that takes, serves and hands over shards in one engine.
 */
export { allocate, AllocationError, loads, movedBetween, rendezvousScore } from './allocation.js';
export type { Allocation } from './allocation.js';
export { ClusterMetrics } from './cluster-metrics.js';
export { ClusterNode } from './cluster-node.js';
export type { ClusterNodeOptions } from './cluster-node.js';
export { NodeReplacedError } from './cluster-rounds.js';
export type { ClusterView } from './cluster-rounds.js';
export type {
  ClaimRule,
  KernelMeta,
  Member,
  MembershipStore,
  RenewOutcome,
  ShardActor,
  ShardCheckpoint,
  ShardCheckpointWrite,
  ShardJournal,
  ShardJournalAppend,
  ShardJournalAppendResult,
  ShardOwner,
  ShardStore,
} from './cluster-ports.js';
export { planMoves } from './move-planner.js';
export { OpsPortInUseError, OpsServer, operatorShards } from './ops-server.js';
export type { OperatorShards, OpsServerOptions } from './ops-server.js';
export type { MovePlan, PlanInput } from './move-planner.js';
export type { ShardChangeListener } from './shard-slots.js';
