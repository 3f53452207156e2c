/**
 * Snapshot text form. JSON would turn the ±Infinity of an absent floor into
 * null and restore a different account; this codec keeps every float exact.
 */
import type { EngineSnapshot } from '../engine/index.js';

const TAG = '__float';

/** Encode an engine snapshot as JSON text that round-trips non-finite numbers. */
export function encodeSnapshot(snapshot: EngineSnapshot): string {
  return JSON.stringify(snapshot, (_key, value: unknown) =>
    typeof value === 'number' && !Number.isFinite(value) ? { [TAG]: String(value) } : value);
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
  if (s === null || typeof s !== 'object' || typeof s.lastInput !== 'number' || typeof s.kernel !== 'object' || !Array.isArray(s.kernel?.actors)) {
    throw new SnapshotDecodeError('missing lastInput or kernel.actors');
  }
  return s as EngineSnapshot;
}
