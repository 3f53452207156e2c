/**
 * State deltas encoded to msgpack in the shard that takes them, for an
 * output that sends them on as bytes (the WebSocket gateway). One buffer per
 * flush crosses to the main thread, transferred rather than cloned: the main
 * thread neither deserializes a delta object nor encodes it again.
 */
import { Encoder } from '@msgpack/msgpack';
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
}

/** Encodes flushes of deltas; one per shard (it reuses its buffers). */
export class DeltaEncoder {
  // The options of the gateway's frame codec, so a delta's bytes are what it would encode itself.
  readonly #encoder = new Encoder({ ignoreUndefined: true });

  /** Encode one flush's deltas (not empty: they share the input of the first). */
  encode(deltas: readonly StateDelta[]): EncodedDeltas {
    let bytes = new Uint8Array(deltas.length * 320);
    const ends = new Uint32Array(deltas.length);
    const ids = new Array<string>(deltas.length);
    let at = 0;
    for (let k = 0; k < deltas.length; k++) {
      const d = deltas[k]!;
      const one = this.#encoder.encodeSharedRef(d);
      if (at + one.length > bytes.length) {
        const grown = new Uint8Array(Math.max(bytes.length * 2, at + one.length));
        grown.set(bytes.subarray(0, at));
        bytes = grown;
      }
      bytes.set(one, at);
      at += one.length;
      ends[k] = at;
      ids[k] = d.assessmentId;
    }
    return { ids, input: deltas[0]?.input ?? -1, bytes: bytes.subarray(0, at), ends };
  }
}
