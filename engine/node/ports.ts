/**
 * What an engine node needs from the outside world, as small interfaces: a
 * sequenced market log to read, a journal to make commands durable in, a
 * checkpoint store to snapshot into. JetStream, Postgres and the embedded
 * defaults implement them; the node imports none of them.
 */
import type { Command } from '../../actors/index.js';
import type { ClockInput, InstrumentInput, ResolutionInput, TickInput } from '../inputs.js';
import type { EncodedCheckpoint } from '../checkpoint-rows.js';
import type { EngineSnapshot } from '../engine.js';

/**
 * A market input with its position in the market log (the JetStream stream
 * sequence): a tick, a resolution, a clock beat, or an instrument definition
 * that its ticks follow.
 */
export type MarketInput =
  | TickInput
  | ResolutionInput
  | (ClockInput & { readonly seq: number })
  | (InstrumentInput & { readonly seq: number });

/** A readable, restartable market log. */
export interface MarketLog {
  /**
   * Read from `fromSeq` on, into the live tail. `lastSeq` on the returned
   * reader counts messages skipped as malformed too.
   */
  open(fromSeq: number): MarketReader;
}

/** One reading of the market log; iterate it once. */
export interface MarketReader extends AsyncIterable<MarketInput> {
  stop(): Promise<void>;
  /** The same inputs in delivery batches, instead of iterating the reader itself (optional: cheaper per message). */
  batches?(): AsyncIterable<readonly MarketInput[]>;
}

/** A journaled input: an assessment's creation or one of its commands. */
export type JournalInput =
  | { readonly type: 'create'; readonly assessmentId: string; readonly traderId: string; readonly tierId: string }
  | { readonly type: 'command'; readonly assessmentId: string; readonly command: Command };

/** An input to append, with the market position it is applied at. */
export interface JournalAppend {
  readonly input: JournalInput;
  /** Deduplication key within the assessment; null for inputs that have none. */
  readonly clientOrderId: string | null;
  /** Seq of the last market input applied before this one: replay puts it right after that input. */
  readonly tickWatermark: number;
}

/** Outcome of one append. */
export type JournalAppendResult =
  | { readonly ok: true; readonly position: number }
  | {
      readonly ok: false;
      readonly reason: 'DUPLICATE_CLIENT_ORDER_ID';
      readonly position: number | undefined;
      /** The stored entry holds this very input: a resend of a request already accepted (its watermark then). @default unknown */
      readonly repeat?: { readonly tickWatermark: number };
    };

/** A stored journal entry. */
export interface JournalRecord {
  readonly position: number;
  readonly input: JournalInput;
  readonly clientOrderId: string | null;
  readonly tickWatermark: number;
}

/** The command journal of one shard group. */
export interface Journal {
  /**
   * Append in order, atomically; each result answers the entry at its index.
   * Rejects with a `FencedError` when another owner holds the group, and with
   * a `JournalOutcomeUnknownError` when the batch may have been written
   * though no answer came (the connection was lost after it was sent).
   */
  appendBatch(entries: readonly JournalAppend[], epoch: number): Promise<JournalAppendResult[]>;
  /** Entries after `position`, in position order, page by page. */
  readAfter(position: number): AsyncIterable<readonly JournalRecord[]>;
}

/** Where the node's checkpoints stand. */
export interface CheckpointMark {
  /** Engine input position the checkpoint reflects (inputs up to and including it). */
  readonly inputPos: number;
  /** Last market seq applied. */
  readonly tickSeq: number;
  /** Last journal position applied. */
  readonly journalPos: number;
}

/** A checkpoint as saved: the marks and the engine snapshot, changed actors only unless `full`. */
export interface Checkpoint extends CheckpointMark {
  readonly version: number;
  readonly snapshot: EngineSnapshot;
}

/** A checkpoint to save: the engine snapshot, or its actors already encoded as rows by the shard workers. */
export type CheckpointWrite = Checkpoint | (CheckpointMark & { readonly version: number; readonly encoded: EncodedCheckpoint });

/** Checkpoints of one shard group, fenced by owner epoch. */
export interface CheckpointStore {
  /** States larger than this (UTF-8 bytes) are reported when saved. @default no limit */
  readonly maxStateBytes?: number;
  /** Become the group's owner: returns a new epoch above every earlier owner's. */
  claim(): Promise<number>;
  /** The newest checkpoint, its actors merged whole, or undefined. */
  load(): Promise<(Checkpoint & { readonly actorsLoaded: number }) | undefined>;
  /** Save atomically. Rejects with a `FencedError` when a newer owner holds the group. */
  save(checkpoint: CheckpointWrite, epoch: number): Promise<void>;
}

/** Raised when a newer owner has claimed the shard group: this node must stop. */
export class FencedError extends Error {
  readonly code = 'FENCED';
  constructor(group: string, epoch: number) {
    super(`shard group '${group}' has a newer owner than epoch ${epoch}: this node stops writing`);
    this.name = 'FencedError';
  }
}

/**
 * Raised when a journal write may or may not have committed: the connection
 * was lost after the batch was sent. The journal may now hold commands the
 * node did not apply, so the node stops, and recovery (which reads the
 * journal) decides.
 */
export class JournalOutcomeUnknownError extends Error {
  readonly code = 'JOURNAL_OUTCOME_UNKNOWN';
  constructor(message: string, options?: ErrorOptions) {
    super(`journal write outcome unknown: ${message}`, options);
    this.name = 'JournalOutcomeUnknownError';
  }
}
