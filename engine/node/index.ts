/**
 * engine/node/: the ports a node is driven through (market log, command
 * journal, checkpoint store), the intake's request and answer, and the merge
 * of the two logs into the total order (see engine/cluster/ for the node).
 */
export type { IntakeRefusal, IntakeRequest, IntakeResult, NodeInspection } from './intake.js';
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
