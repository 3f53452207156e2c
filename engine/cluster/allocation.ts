/**
 * Where each virtual shard should live, as a pure function of the live
 * member set: rendezvous (highest-random-weight) preference with bounded
 * loads. Every member holds floor or ceil of shards / members, and a change
 * of membership moves few shards: a join takes about shards / (N + 1), almost
 * all to the newcomer; a leave hands out only the leaver's shards, plus
 * a few to restore the bound.
 *
 * Every process computes the same answer from the same member list (no ring
 * state, no coordinator). The answer says who *should* own a shard; only the
 * owner epoch in Postgres says who *may write* it.
 */
import { fnv1a32, VIRTUAL_SHARDS } from '../shard.js';

/** The target owner of every shard: `owner[v]` is a member id. */
export interface Allocation {
  readonly members: readonly string[];
  readonly owner: readonly string[];
}

/** Raised for a member list that cannot be allocated over. */
export class AllocationError extends Error {
  readonly code = 'INVALID_ALLOCATION';
  constructor(message: string) {
    super(message);
    this.name = 'AllocationError';
  }
}

/** murmur3's finaliser: a good 32-bit mix, so neighbouring shards get unrelated scores. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The rendezvous weight of (member, shard): higher is preferred. */
export function rendezvousScore(memberHash: number, shard: number): number {
  return mix32((memberHash ^ Math.imul(shard + 1, 0x9e3779b1)) >>> 0);
}

/**
 * Allocate `shards` virtual shards over `members` (ids, any order, no
 * duplicates). Pairs (shard, member) are taken in descending rendezvous
 * score (ties by member id, then shard); a shard goes to the first member of
 * its pairs that still has room. Room is ceil(shards / N) for the first
 * `shards mod N` members to fill up, floor for the rest, so loads differ by
 * at most one.
 */
export function allocate(members: readonly string[], shards: number = VIRTUAL_SHARDS): Allocation {
  if (members.length === 0) throw new AllocationError('no members to allocate shards over');
  const ids = [...members].sort();
  for (let i = 1; i < ids.length; i++) if (ids[i] === ids[i - 1]) throw new AllocationError(`member '${ids[i]}' listed twice`);
  const n = ids.length;
  const hashes = ids.map((id) => fnv1a32(id));
  const floor = Math.floor(shards / n);
  let ceilSlots = shards % n; // members that may still reach floor + 1
  const score = new Uint32Array(shards * n);
  for (let v = 0; v < shards; v++) for (let m = 0; m < n; m++) score[v * n + m] = rendezvousScore(hashes[m]!, v);
  // Pair k is (shard k / n, member k % n): ties go to the lower member (ids are sorted), then the lower shard.
  const order = Array.from({ length: score.length }, (_, k) => k);
  order.sort((a, b) => score[b]! - score[a]! || (a % n) - (b % n) || a - b);
  const owner: string[] = new Array<string>(shards);
  const load = new Int32Array(n);
  let placed = 0;
  for (const k of order) {
    if (placed === shards) break;
    const v = Math.floor(k / n);
    const m = k % n;
    if (owner[v] !== undefined) continue;
    const room = load[m]! < floor || (load[m] === floor && ceilSlots > 0);
    if (!room) continue;
    if (load[m] === floor) ceilSlots--;
    load[m]!++;
    owner[v] = ids[m]!;
    placed++;
  }
  return { members: ids, owner };
}

/** How many shards differ between two allocations. */
export function movedBetween(a: Allocation, b: Allocation): number {
  let moved = 0;
  for (let v = 0; v < a.owner.length; v++) if (a.owner[v] !== b.owner[v]) moved++;
  return moved;
}

/** Shards per member in an allocation. */
export function loads(a: Allocation): Map<string, number> {
  const out = new Map<string, number>(a.members.map((m) => [m, 0]));
  for (const o of a.owner) out.set(o, (out.get(o) ?? 0) + 1);
  return out;
}
