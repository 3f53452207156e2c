/**
 * An engine output for a gateway composed after its node: the node starts
 * first with this output, and the gateway's hub and trader index join it.
 */
import { forwardEncodedDeltas, type EncodedDeltas, type EngineOutput, type OutputEvent, type StateDelta } from '../index.js';

/** An output whose target is set once the gateway exists (the node starts first). */
export class LateOutput implements EngineOutput {
  targets: EngineOutput[] = [];
  onEvents(events: readonly OutputEvent[], shard: number): void {
    for (const t of this.targets) t.onEvents(events, shard);
  }
  onDeltas(deltas: readonly StateDelta[], shard: number): void {
    for (const t of this.targets) t.onDeltas?.(deltas, shard);
  }
  // Declared, so the shards encode deltas for the gateway; a target that takes objects gets them decoded.
  onEncodedDeltas(batch: EncodedDeltas, shard: number): void {
    forwardEncodedDeltas(this.targets, batch, shard);
  }
}
