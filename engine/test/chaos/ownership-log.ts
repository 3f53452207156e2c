/**
 * What the cluster test saw of shard ownership: every poll of a node's
 * `/v1/operator/shards` is an observation "node N served these shards (with
 * these epochs) at some instant between sending the request and reading the
 * answer". From them it finds:
 *
 * - **overlaps**: two nodes serving one shard at once. A node serves a shard
 *   continuously from one observation to the next that shows it with the same
 *   epoch (a shard given up and taken back has a new epoch, and polls are
 *   far closer together than a release and a claim), so that stretch is
 *   certain; another node's observation of the shard wholly inside it, or
 *   another certain stretch crossing it, is an overlap. Two answers in one
 *   poll round that both name a shard are not enough on their own: one node
 *   may have released it between the two answers.
 * - **moves**: each change of a shard's owner, at the time the new owner was
 *   first seen serving it.
 */

/** One answer of one node. */
export interface OwnershipObservation {
  readonly node: string;
  /** When the request was sent and the answer read (performance.now()). */
  readonly sentAt: number;
  readonly receivedAt: number;
  /** Shard → owner epoch (or 0 when the node does not say) of every shard the node served. */
  readonly serving: ReadonlyMap<number, number>;
}

/** Two nodes serving one shard at the same time. */
export interface Overlap {
  readonly shard: number;
  readonly nodes: readonly [string, string];
  readonly at: number;
}

/** A shard's owner changed. */
export interface ShardMove {
  readonly shard: number;
  readonly from: string | undefined;
  readonly to: string;
  /** When the new owner was first seen serving it. */
  readonly at: number;
  /** When the old owner was last seen serving it (undefined: never seen). */
  readonly lastSeenBefore: number | undefined;
}

interface Stretch {
  readonly node: string;
  readonly epoch: number;
  /** First observation window showing it. */
  readonly firstSent: number;
  readonly firstReceived: number;
  /** Last observation window showing it. */
  lastSent: number;
  lastReceived: number;
  /** Whether the node's most recent observation still showed it (a stretch ends at the first that did not). */
  open: boolean;
}

/** Collects observations; see the module comment. */
export class OwnershipLog {
  /** Per shard, its serving stretches in order of first sight. */
  readonly #stretches = new Map<number, Stretch[]>();
  /** Per node, its open stretch of each shard. */
  readonly #open = new Map<string, Map<number, Stretch>>();
  readonly #lastAt = new Map<string, number>();
  observations = 0;

  /** Add one answer; answers of one node must be added in the order they were sent. */
  add(o: OwnershipObservation): void {
    const last = this.#lastAt.get(o.node);
    if (last !== undefined && o.sentAt < last) throw new RangeError(`observations of ${o.node} out of order`);
    this.#lastAt.set(o.node, o.sentAt);
    this.observations++;
    let open = this.#open.get(o.node);
    if (open === undefined) this.#open.set(o.node, (open = new Map()));
    for (const [shard, s] of open) {
      if (o.serving.get(shard) !== s.epoch) {
        s.open = false;
        open.delete(shard);
      }
    }
    for (const [shard, epoch] of o.serving) {
      const s = open.get(shard);
      if (s !== undefined) {
        s.lastSent = o.sentAt;
        s.lastReceived = o.receivedAt;
        continue;
      }
      const fresh: Stretch = {
        node: o.node,
        epoch,
        firstSent: o.sentAt,
        firstReceived: o.receivedAt,
        lastSent: o.sentAt,
        lastReceived: o.receivedAt,
        open: true,
      };
      open.set(shard, fresh);
      let list = this.#stretches.get(shard);
      if (list === undefined) this.#stretches.set(shard, (list = []));
      list.push(fresh);
    }
  }

  /** A node is gone (killed, stopped): its stretches end at its last observation. */
  gone(node: string): void {
    for (const s of this.#open.get(node)?.values() ?? []) s.open = false;
    this.#open.delete(node);
  }

  /** Every certain overlap (see the module comment). */
  overlaps(): Overlap[] {
    const out: Overlap[] = [];
    for (const [shard, list] of this.#stretches) {
      for (let i = 0; i < list.length; i++) {
        for (let j = i + 1; j < list.length; j++) {
          const a = list[i]!;
          const b = list[j]!;
          if (a.node === b.node) continue;
          const at = overlapAt(a, b);
          if (at !== undefined) out.push({ shard, nodes: [a.node, b.node], at });
        }
      }
    }
    return out;
  }

  /** Every change of owner, in time order. */
  moves(): ShardMove[] {
    const out: ShardMove[] = [];
    for (const [shard, list] of this.#stretches) {
      let prev: Stretch | undefined;
      for (const s of list) {
        // The first owner seen is not a move; a new epoch on the same node is (it gave the shard up and took it back).
        if (prev !== undefined && (prev.node !== s.node || prev.epoch !== s.epoch))
          out.push({ shard, from: prev.node, to: s.node, at: s.firstReceived, lastSeenBefore: prev.lastReceived });
        prev = s;
      }
    }
    return out.sort((a, b) => a.at - b.at);
  }

  /** The owner of each shard as last seen (open stretches only). */
  owners(): Map<number, string> {
    const out = new Map<number, string>();
    for (const [node, open] of this.#open) for (const shard of open.keys()) out.set(shard, node);
    return out;
  }
}

/** A time at which both stretches certainly served, or undefined. */
function overlapAt(a: Stretch, b: Stretch): number | undefined {
  // Certain span: from the first answer read to the last request sent (empty with one observation).
  const spanA = a.lastSent > a.firstReceived ? ([a.firstReceived, a.lastSent] as const) : undefined;
  const spanB = b.lastSent > b.firstReceived ? ([b.firstReceived, b.lastSent] as const) : undefined;
  if (spanA !== undefined && spanB !== undefined) {
    const lo = Math.max(spanA[0], spanB[0]);
    const hi = Math.min(spanA[1], spanB[1]);
    if (lo < hi) return lo;
  }
  // One observation window of the other wholly inside a certain span.
  const inside = (span: readonly [number, number] | undefined, s: Stretch): number | undefined => {
    if (span === undefined) return undefined;
    if (s.firstSent >= span[0] && s.firstReceived <= span[1]) return s.firstSent;
    if (s.lastSent >= span[0] && s.lastReceived <= span[1]) return s.lastSent;
    return undefined;
  };
  return inside(spanA, b) ?? inside(spanB, a);
}
