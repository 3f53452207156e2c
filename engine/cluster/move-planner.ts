/**
 * One node's share of an allocation round: which of its shards to hand over
 * and which to take, at most `maxMoves` of each per round (the absolute
 * limit of Pekko's shard allocation), in shard order so every round picks
 * the same ones. A shard is taken only when nobody live holds it: unowned,
 * released, held by a member whose lease lapsed, or under this node's own
 * name (an earlier process of it). One a live member holds is waited for:
 * its holder hands it over when it sees the same allocation.
 */
import type { Allocation } from './allocation.js';
import type { ShardOwner } from './cluster-ports.js';

/** What a node decides in one round. */
export interface MovePlan {
  /** Shards to release (their target is another member). */
  readonly release: readonly number[];
  /** Shards to claim, with the epoch seen (0: no owner row). */
  readonly acquire: ReadonlyArray<{ readonly shard: number; readonly epoch: number }>;
  /** Shards targeted here that a live member still holds (moves in progress elsewhere). */
  readonly waiting: number;
  /**
   * Shards held under this node's name that it does not serve and should not
   * (an earlier process of it held them, or a hand-over could not save its
   * checkpoint): marked released so their target takes them without waiting
   * for a lease that this node keeps renewing.
   */
  readonly orphans: ReadonlyMap<number, number>;
}

/** Inputs of {@link planMoves}. */
export interface PlanInput {
  readonly me: string;
  /** Target over the live, non-draining members; undefined when there is none (every shard is let go). */
  readonly target: Allocation | undefined;
  /** Owner rows by shard. */
  readonly owners: ReadonlyMap<number, ShardOwner>;
  /** Node ids whose lease has not lapsed (draining ones included). */
  readonly live: ReadonlySet<string>;
  /** Shards this node serves, takes or hands over now. */
  readonly busy: ReadonlySet<number>;
  readonly serving: ReadonlySet<number>;
  readonly maxMoves: number;
  /** @default 1024 */
  readonly shards?: number;
}

/** Decide this node's releases and claims for one round. */
export function planMoves(p: PlanInput): MovePlan {
  const shards = p.shards ?? 1024;
  const release: number[] = [];
  const acquire: Array<{ shard: number; epoch: number }> = [];
  const orphans = new Map<number, number>();
  let waiting = 0;
  for (let v = 0; v < shards; v++) {
    const want = p.target?.owner[v];
    if (p.serving.has(v)) {
      if (want !== p.me && release.length < p.maxMoves) release.push(v);
      continue;
    }
    if (p.busy.has(v)) continue;
    const row = p.owners.get(v);
    if (want !== p.me) {
      if (row !== undefined && row.ownerNode === p.me && !row.released) orphans.set(v, row.epoch);
      continue;
    }
    const free = row === undefined || row.released || row.ownerNode === null || row.ownerNode === p.me || !p.live.has(row.ownerNode);
    if (!free) waiting++;
    else if (acquire.length < p.maxMoves) acquire.push({ shard: v, epoch: row?.epoch ?? 0 });
  }
  return { release, acquire, waiting, orphans };
}
