/**
 * Messages between the engine (main thread) and its shard workers. All are
 * structured-clone safe. Inputs travel in batches, in their total order.
 */
import type { Instrument, Tier } from '../actors/index.js';
import type { ActorRowsOptions } from './checkpoint-rows.js';
import type { EncodedDeltas } from './delta-encoding.js';
import type { OutputEvent, SequencedInput, StateDelta } from './inputs.js';
import type { ActorSnapshot, IndexMode, KernelSnapshot, KernelStats } from './shard-kernel.js';

/** What a shard worker starts from. */
export interface ShardWorkerData {
  readonly shard: number;
  readonly mode: IndexMode;
  readonly tiers: readonly Tier[];
  readonly instruments: readonly Instrument[];
  readonly snapshot: KernelSnapshot | undefined;
  /** Interval of state-delta flushes; 0 disables them. */
  readonly flushIntervalMs: number;
  /** Slices each flush is spread over, one every `flushIntervalMs / deltaSlices` ms. @default 1 */
  readonly deltaSlices?: number;
  /** Delay of this shard's first slice, ms, so the shards' slices interleave instead of landing together. @default 0 */
  readonly deltaPhaseMs?: number;
  /** Send deltas msgpack-encoded (`encoded-deltas`) instead of as objects. @default false */
  readonly encodeDeltas?: boolean;
  /** Record tick-to-verdict latency per tick. */
  readonly measureLatency: boolean;
  /** How long the ack of a batch that emitted no events may wait to be merged with the next ones', ms; 0 acks each at once. @default 0 */
  readonly ackDelayMs?: number;
}

export type ToShard =
  | {
      readonly t: 'inputs';
      /** Non-tick inputs for this shard, in order. */
      readonly batch: SequencedInput[];
      /** Ticks packed by `TickPacker`, interleaved with `batch` by input position. */
      readonly ticks: Float64Array | undefined;
      /** Symbols appended to the tick symbol table. */
      readonly newSymbols: string[];
      readonly sentAt: number;
    }
  | { readonly t: 'watch'; readonly ids: string[]; readonly on: boolean }
  /** Add these actors, caught up to the engine's position, after the inputs sent before. */
  | { readonly t: 'adopt'; readonly actors: ActorSnapshot[] }
  /** Remove the actors of these virtual shards after the inputs sent before; the reply is their snapshots. */
  | { readonly t: 'request'; readonly req: number; readonly what: 'release'; readonly shards: number[] }
  /** Ack now whatever is applied and not yet acked (a barrier is waiting). */
  | { readonly t: 'sync' }
  | { readonly t: 'request'; readonly req: number; readonly what: 'snapshot' | 'latency' | 'ids' | 'memory' }
  | { readonly t: 'request'; readonly req: number; readonly what: 'state'; readonly assessmentId: string }
  | { readonly t: 'request'; readonly req: number; readonly what: 'checkpoint'; readonly full: boolean }
  /** A checkpoint encoded in the worker as COPY rows (see checkpoint-rows.ts). */
  | {
      readonly t: 'request';
      readonly req: number;
      readonly what: 'checkpoint-rows';
      readonly full: boolean;
      readonly rows: ActorRowsOptions;
    };

/** Tick-to-verdict latency of a shard since the last request, in ms. */
export interface LatencyReport {
  readonly count: number;
  /** From the engine sending the tick's batch to the tick's verdict (includes the thread hop). */
  readonly p50: number;
  readonly p99: number;
  readonly max: number;
  /** From the shard starting the tick's batch to the tick's verdict (the kernel's own share). */
  readonly inShardP50: number;
  readonly inShardP99: number;
  readonly inShardMax: number;
  /** From the engine sending a batch to the shard starting it: the thread hop plus any wait behind the shard's own work. */
  readonly queuedP99: number;
  readonly queuedMax: number;
  /** The part of the queue spent behind the shard's own earlier work (a batch, its ack, a delta flush); the rest is the hop. */
  readonly behindP99: number;
  readonly behindMax: number;
  /** Longest single task of the shard (an input batch with its ack, a delta flush), ms. */
  readonly longestTaskMs: number;
  /** Longest ack's `postMessage` (the structured clone of its events, on the shard's thread), ms, and the most events one ack carried. */
  readonly longestAckMs: number;
  readonly mostEventsPerAck: number;
  /** Longest GC pause of the shard's isolate, and their sum, ms. */
  readonly gcMaxMs: number;
  readonly gcMs: number;
}

export type FromShard =
  | {
      readonly t: 'ack';
      readonly upTo: number /** Inputs applied in this batch. */;
      readonly count: number;
      readonly events: OutputEvent[];
      readonly stats: KernelStats;
      readonly busyMs: number;
    }
  | { readonly t: 'deltas'; readonly deltas: StateDelta[] }
  | { readonly t: 'encoded-deltas'; readonly batch: EncodedDeltas }
  | { readonly t: 'reply'; readonly req: number; readonly data: unknown }
  | { readonly t: 'fatal'; readonly error: string };

/** Heap of one shard's isolate, in bytes. */
export interface ShardMemory {
  readonly usedHeap: number;
  readonly totalHeap: number;
}
