/**
 * What the routing plane's owner side (shard-service.ts) needs of an engine
 * node: which virtual shards it serves now and at which owner epoch, news of
 * a change, intake and state reads, and live deltas for watched assessments.
 * A cluster node serves a changing set of shards; a solo node serves all of
 * them at its one epoch (engine/main/shard-hosts.ts adapts both).
 */
import type { AssessmentState } from '../../actors/index.js';
import type { IntakeRequest } from '../../engine/index.js';
import type { RoutedIntakeResult } from './shard-wire.js';

/** Told when a shard starts (`serving`) or stops being served here; `epoch` is its owner epoch. */
export type ShardChangeListener = (shard: number, serving: boolean, epoch: number) => void;

/** An engine node as the owner side of the routing plane sees it. */
export interface ShardHost {
  /** This node's name in announcements. */
  readonly nodeId: string;
  /** The owner epoch of `shard` when it is served here now, else undefined. */
  serves(shard: number): number | undefined;
  /** Every shard served now, with its owner epoch. */
  served(): Iterable<readonly [shard: number, epoch: number]>;
  /** Follow changes; returns a function that stops following. */
  onShardChange(listener: ShardChangeListener): () => void;
  /** Journal and apply (never rejects); `NOT_OWNER` when the assessment's shard is not served here. */
  offer(req: IntakeRequest): Promise<RoutedIntakeResult>;
  /** An assessment's state after every applied input. */
  state(assessmentId: string): Promise<AssessmentState | undefined>;
  /** Push live deltas for these assessments every flush (counted: see {@link countedWatch}). */
  watch(ids: readonly string[], on: boolean): void;
}

/**
 * An engine's `watch` shared by several watchers (the in-process gateway's
 * hub, the stream publisher): an assessment is unwatched only when the last
 * watcher lets it go.
 */
export function countedWatch(watch: (ids: readonly string[], on: boolean) => void): (ids: readonly string[], on: boolean) => void {
  const counts = new Map<string, number>();
  return (ids, on) => {
    const changed: string[] = [];
    for (const id of ids) {
      const n = counts.get(id) ?? 0;
      if (on) {
        counts.set(id, n + 1);
        if (n === 0) changed.push(id);
      } else if (n === 1) {
        counts.delete(id);
        changed.push(id);
      } else if (n > 1) counts.set(id, n - 1);
    }
    if (changed.length > 0) watch(changed, on);
  };
}
