/**
 * engine/node/: an engine driven by a market log and a command journal,
 * checkpointed and recoverable, behind ports that transports and stores implement.
 */
export { EngineNode } from './engine-node.js';
export type { EngineNodeOptions, IntakeRefusal, IntakeRequest, IntakeResult, NodeInspection } from './engine-node.js';
export { canonicalJson, mergeInputs, mergeSequenced, stateDigest } from './merge-inputs.js';
export type { CoordinatedInput } from './merge-inputs.js';
export { NodeMetrics } from './node-metrics.js';
export { FencedError, JournalOutcomeUnknownError } from './ports.js';
export type {
  Checkpoint,
  CheckpointMark,
  CheckpointStore,
  CheckpointWrite,
  Journal,
  JournalAppend,
  JournalAppendResult,
  JournalInput,
  JournalRecord,
  MarketInput,
  MarketLog,
  MarketReader,
} from './ports.js';
