/**
 * One engine output that hands everything to several: a node's outputs
 * (leaderboard, history, event publisher, the process's own) behind the one
 * output the engine takes.
 */
import { forwardEncodedDeltas, type EncodedDeltas, type EngineOutput, type OutputEvent, type StateDelta } from '../index.js';

/** Events to several outputs. */
export class FanOut implements EngineOutput {
  readonly outputs: EngineOutput[];
  constructor(outputs: EngineOutput[]) {
    this.outputs = outputs;
  }
  onEvents(events: readonly OutputEvent[], shard: number): void {
    for (const o of this.outputs) o.onEvents(events, shard);
  }
  onDeltas(deltas: readonly StateDelta[], shard: number): void {
    for (const o of this.outputs) o.onDeltas?.(deltas, shard);
  }
  onEncodedDeltas(batch: EncodedDeltas, shard: number): void {
    forwardEncodedDeltas(this.outputs, batch, shard);
  }
  async flush(): Promise<void> {
    await Promise.all(this.outputs.map((o) => o.flush?.()));
  }
}
