/**
 * engine/: assessment actors on sharded worker threads, the price index, and
 * tapes. Other folders import the engine through this file only.
 */

// Engine
export { Engine, ShardFailedError, runInputs } from './engine.js';
export type { EngineOptions, EngineOutput, EngineSnapshot, ShardReport } from './engine.js';
export { MarketInputGate } from './market-input-gate.js';
export type { RefusedInput } from './market-input-gate.js';
export {
  isValidSeq,
  isValidTimestamp,
  MARKET_INPUT_REFUSALS,
  MarketRegistry,
  validateQuote,
  validateQuoteShape,
} from './market-validation.js';
export { InstrumentSchema, parseInstrument, sameInstrument, TimeSchema } from './instrument-schema.js';
export type { MarketInputRefusal, QuoteFields } from './market-validation.js';

// Inputs and outputs
export { compareOutput } from './inputs.js';
export { decodeJson, encodeJson } from './json-codec.js';
export { concatRows, copyField, encodeActorRows, encodeCheckpoint, mergeEncoded, parseActorRows, rowBuffers } from './checkpoint-rows.js';
export type { ActorRow, ActorRows, ActorRowsOptions, EncodedCheckpoint } from './checkpoint-rows.js';
export { DeltaEncoder } from './delta-encoding.js';
export { DeltaWriter, WIRE_ENCODER_OPTIONS, wireEncoder } from './delta-writer.js';
export type { EncodedDeltas } from './delta-encoding.js';
export type {
  ClockInput,
  EngineEvent,
  EngineInput,
  InputRejectReason,
  InstrumentInput,
  KernelEvent,
  OutputEvent,
  ResolutionInput,
  SequencedInput,
  StateDelta,
  TickInput,
} from './inputs.js';

// Shards
export { AllotmentError, fnv1a32, shardKey, shardOf, ShardAllotment, VIRTUAL_SHARDS } from './shard.js';
export type { AllotmentData } from './shard.js';
export { ShardKernel } from './shard-kernel.js';
export type { ActorSnapshot, IndexMode, KernelSnapshot, KernelStats, ShardKernelOptions } from './shard-kernel.js';
export { MarketBook } from './market-book.js';
export type { LatencyReport, ShardMemory } from './worker-protocol.js';

// Tapes
export { formatTape, parseTape, readTape, TapeError } from './tape.js';
export type { ParseTapeOptions, TapeRefusal } from './tape.js';

// Durable nodes: market log + journal + checkpoints
export * from './node/index.js';

// Clusters: virtual shards owned across engine nodes
export * from './cluster/index.js';

export { forwardEncodedDeltas } from './delta-encoding.js';
export { LatencyRecorder } from './latency-recorder.js';
export { spawnWorker } from './spawn-worker.js';
