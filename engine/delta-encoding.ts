/**
 * State deltas encoded to msgpack in the shard that takes them, for an
 * output that sends them on as bytes (the WebSocket gateway). One buffer per
 * flush crosses to the main thread, transferred rather than cloned: the main
 * thread neither deserializes a delta object nor encodes it again.
 */
import { decodeMulti } from '@msgpack/msgpack';
import { DeltaWriter } from './delta-writer.js';
import type { StateDelta } from './inputs.js';

/** The deltas of one shard flush, each a msgpack map of a {@link StateDelta}, back to back. */
export interface EncodedDeltas {
  /** Assessment of each delta, in order. */
  readonly ids: readonly string[];
  /** Last input applied when the deltas were taken (every delta's `input`). */
  readonly input: number;
  /** The encoded deltas. */
  readonly bytes: Uint8Array;
  /** End offset in `bytes` of each delta (the start of the next). */
  readonly ends: Uint32Array;
  /** Each delta's `equity`, for outputs that rank accounts without decoding them (the leaderboard). */
  readonly equity: Float64Array;
  /** Each delta's `startingBalance`, likewise. */
  readonly startingBalance: Float64Array;
}

/** Encodes flushes of deltas; one per shard (it reuses its buffers). */
export class DeltaEncoder {
  // delta-writer.ts owns the delta's msgpack form; the gateway's frame codec encodes with its wireEncoder().
  readonly #writer = new DeltaWriter();

  /** Encode one flush's deltas (not empty: they share the input of the first). */
  encode(deltas: readonly StateDelta[]): EncodedDeltas {
    const w = this.#writer;
    const ends = new Uint32Array(deltas.length);
    const ids = new Array<string>(deltas.length);
    const equity = new Float64Array(deltas.length),
      startingBalance = new Float64Array(deltas.length);
    w.reset();
    for (let k = 0; k < deltas.length; k++) {
      const d = deltas[k]!;
      w.write(d);
      ends[k] = w.length;
      ids[k] = d.assessmentId;
      equity[k] = d.equity;
      startingBalance[k] = d.startingBalance;
    }
    return { ids, input: deltas[0]?.input ?? -1, bytes: w.take(), ends, equity, startingBalance };
  }
}

/** The delta objects back from an encoded flush (for an output that only takes objects). */
export function decodeDeltas(batch: EncodedDeltas): StateDelta[] {
  return [...decodeMulti(batch.bytes)] as StateDelta[];
}

/** The delta half of an engine output (`EngineOutput`, engine.ts). */
export interface DeltaOutput {
  onDeltas?(deltas: readonly StateDelta[], shard: number): void;
  onEncodedDeltas?(batch: EncodedDeltas, shard: number): void;
}

/**
 * Outputs behind one: hands each encoded flush to those that take bytes,
 * and decodes it, once, for those that only take objects.
 */
export function forwardEncodedDeltas(outputs: readonly DeltaOutput[], batch: EncodedDeltas, shard: number): void {
  let decoded: StateDelta[] | undefined;
  for (const o of outputs) {
    if (o.onEncodedDeltas !== undefined) o.onEncodedDeltas(batch, shard);
    else if (o.onDeltas !== undefined) o.onDeltas((decoded ??= decodeDeltas(batch)), shard);
  }
}
