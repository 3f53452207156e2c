/**
 * Snapshot text form. JSON would turn the ±Infinity of an absent floor into
 * null and restore a different account; this codec keeps every float exact.
 */
import type { EngineSnapshot } from '../engine/index.js';

const TAG = '__float';

/** Encode an engine snapshot as JSON text that round-trips non-finite numbers. */
export function encodeSnapshot(snapshot: EngineSnapshot): string {
  return JSON.stringify(snapshot, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? { [TAG]: String(value) } : value,
  );
}

/** Raised when stored snapshot text is not a snapshot. */
export class SnapshotDecodeError extends Error {
  readonly code = 'SNAPSHOT_DECODE';
  constructor(message: string, options?: ErrorOptions) {
    super(`cannot decode snapshot: ${message}`, options);
    this.name = 'SnapshotDecodeError';
  }
}

/** Decode text written by {@link encodeSnapshot}. */
export function decodeSnapshot(text: string): EngineSnapshot {
  let value: unknown;
  try {
    value = JSON.parse(text, (_key, v: unknown) => {
      if (v !== null && typeof v === 'object' && TAG in v && Object.keys(v).length === 1) return Number((v as Record<string, string>)[TAG]);
      return v;
    });
  } catch (err) {
    throw new SnapshotDecodeError((err as Error).message, { cause: err });
  }
  const s = value as Partial<EngineSnapshot> | null;
  if (
    s === null ||
    typeof s !== 'object' ||
    typeof s.lastInput !== 'number' ||
    typeof s.kernel !== 'object' ||
    !Array.isArray(s.kernel?.actors)
  ) {
    throw new SnapshotDecodeError('missing lastInput or kernel.actors');
  }
  return s as EngineSnapshot;
}

/** @see SnapshotSizeGuardOptions.maxStateBytes */
export const DEFAULT_MAX_STATE_BYTES = 64 * 1024;

/**
 * An assessment's encoded state is over the snapshot cap. Reported, never
 * thrown: the state is still written (see {@link SnapshotSizeGuard}).
 */
export class SnapshotTooLargeError extends Error {
  readonly code = 'SNAPSHOT_TOO_LARGE';
  readonly assessmentId: string;
  readonly bytes: number;
  readonly limit: number;
  constructor(assessmentId: string, bytes: number, limit: number) {
    super(`snapshot of ${assessmentId} is ${bytes} bytes, over the ${limit}-byte cap; written anyway`);
    this.name = 'SnapshotTooLargeError';
    this.assessmentId = assessmentId;
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** Options of {@link SnapshotSizeGuard}. */
export interface SnapshotSizeGuardOptions {
  /**
   * Cap on one assessment's encoded state, bytes of UTF-8. Actor state is
   * bounded where it grows (orders, positions, history); this is the backstop
   * that says when one escaped its bound. @default 65_536 (64 KiB)
   */
  readonly maxStateBytes?: number;
  /** Called for each state over the cap. Exceptions it throws are swallowed. @default none */
  readonly onOversize?: (error: SnapshotTooLargeError) => void;
}

/**
 * Flags encoded states over the cap, and lets them through.
 *
 * Why flag and not refuse: a checkpoint row is the state that the journal is
 * replayed over. Skipping one actor's row while the checkpoint's positions
 * advance would drop that actor's acknowledged commands at recovery; refusing
 * the whole checkpoint would leave every later checkpoint refused too (the
 * big state is still there), so recovery would replay an ever longer journal.
 * Writing it keeps every acknowledged order recoverable; the counter and the
 * callback make the escaped bound visible so it gets fixed where it grows.
 */
export class SnapshotSizeGuard {
  readonly limit: number;
  readonly #onOversize: SnapshotSizeGuardOptions['onOversize'];
  #oversized = 0;

  constructor(options: SnapshotSizeGuardOptions = {}) {
    const limit = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
    if (!(Number.isSafeInteger(limit) && limit > 0)) throw new RangeError(`maxStateBytes must be a positive integer, got ${limit}`);
    this.limit = limit;
    this.#onOversize = options.onOversize;
  }

  /** States over the cap seen so far. */
  get oversized(): number {
    return this.#oversized;
  }

  /** Report a state already measured over the cap (encoded elsewhere, such as in a shard worker). */
  report(assessmentId: string, bytes: number): void {
    this.#oversized++;
    try {
      this.#onOversize?.(new SnapshotTooLargeError(assessmentId, bytes, this.limit));
    } catch {
      // An observer's failure must not fail the checkpoint.
    }
  }

  /** Check one encoded state; returns the text unchanged. */
  check(assessmentId: string, text: string): string {
    // A UTF-8 byte is at most 3 per UTF-16 unit: most states are decided without counting bytes.
    if (text.length * 3 <= this.limit) return text;
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.limit) {
      this.#oversized++;
      try {
        this.#onOversize?.(new SnapshotTooLargeError(assessmentId, bytes, this.limit));
      } catch {
        // An observer's failure must not fail the checkpoint.
      }
    }
    return text;
  }
}
