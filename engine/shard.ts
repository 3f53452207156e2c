/**
 * Sharding: assessment id → virtual shard → owner (a worker thread now,
 * processes and machines later). The shard function and the virtual shard
 * count never change once deployed: a rolling upgrade that changed them would
 * give one assessment two owners. Owners change only by moving whole virtual
 * shards in the allotment.
 */

/** The number of virtual shards. Fixed forever: changing it re-homes every assessment. */
export const VIRTUAL_SHARDS = 1024;

/** FNV-1a 32-bit over the UTF-8 bytes of `key`. Pinned by golden-value tests. */
export function fnv1a32(key: string): number {
  // An ASCII key's UTF-8 bytes are its char codes: hashed in place, with no encoder or buffer per call
  // (the intake hashes every request's id, twice); any other key over its encoded bytes.
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c >= 0x80) return fnv1a32Utf8(key);
    h ^= c;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

function fnv1a32Utf8(key: string): number {
  let h = 0x811c9dc5;
  const bytes = new TextEncoder().encode(key);
  for (let i = 0; i < bytes.length; i++) {
    h ^= bytes[i]!;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** The virtual shard of an assessment. */
export function shardOf(assessmentId: string, virtualShards: number = VIRTUAL_SHARDS): number {
  return fnv1a32(assessmentId) % virtualShards;
}

/**
 * The name of a virtual shard in storage and on the wire (`v0042`): the
 * group id of its owner row, journal entries, snapshots and checkpoint.
 */
export function shardKey(vshard: number): string {
  if (!Number.isInteger(vshard) || vshard < 0 || vshard >= VIRTUAL_SHARDS) throw new RangeError(`no virtual shard ${vshard}`);
  return `v${String(vshard).padStart(4, '0')}`;
}

/** Raised when an allotment is asked for an owner it does not have. */
export class AllotmentError extends Error {
  readonly code = 'INVALID_ALLOTMENT';
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'AllotmentError';
  }
}

/** Plain-data form of an allotment. */
export interface AllotmentData {
  readonly virtualShards: number;
  readonly owners: number;
  /** Owner index of each virtual shard. */
  readonly table: number[];
  /** Incremented on every move; a fencing token for writers. */
  readonly epoch: number;
}

/**
 * Which owner serves each virtual shard. Starts as contiguous even ranges;
 * `move` hands one virtual shard to another owner (the caller moves its actors).
 */
export class ShardAllotment {
  readonly virtualShards: number;
  readonly owners: number;
  readonly #table: Int32Array;
  #epoch: number;

  private constructor(virtualShards: number, owners: number, table: Int32Array, epoch: number) {
    this.virtualShards = virtualShards;
    this.owners = owners;
    this.#table = table;
    this.#epoch = epoch;
  }

  /** Even contiguous ranges of virtual shards over `owners` owners. */
  static even(owners: number, virtualShards: number = VIRTUAL_SHARDS): ShardAllotment {
    if (!Number.isInteger(owners) || owners < 1 || owners > virtualShards) {
      throw new AllotmentError(`owners must be an integer in 1..${virtualShards}, got ${owners}`);
    }
    const table = new Int32Array(virtualShards);
    for (let v = 0; v < virtualShards; v++) table[v] = Math.floor((v * owners) / virtualShards);
    return new ShardAllotment(virtualShards, owners, table, 0);
  }

  static from(data: AllotmentData): ShardAllotment {
    if (data.table.length !== data.virtualShards)
      throw new AllotmentError(`table has ${data.table.length} entries for ${data.virtualShards} virtual shards`);
    if (data.table.some((o) => !Number.isInteger(o) || o < 0 || o >= data.owners))
      throw new AllotmentError('table names an owner out of range');
    return new ShardAllotment(data.virtualShards, data.owners, Int32Array.from(data.table), data.epoch);
  }

  get epoch(): number {
    return this.#epoch;
  }

  ownerOfShard(vshard: number): number {
    return this.#table[vshard]!;
  }

  ownerOf(assessmentId: string): number {
    return this.#table[shardOf(assessmentId, this.virtualShards)]!;
  }

  /** Virtual shards served by `owner`. */
  shardsOf(owner: number): number[] {
    const out: number[] = [];
    for (let v = 0; v < this.virtualShards; v++) if (this.#table[v] === owner) out.push(v);
    return out;
  }

  /** Hand a virtual shard to another owner; returns the new epoch. */
  move(vshard: number, owner: number): number {
    if (vshard < 0 || vshard >= this.virtualShards) throw new AllotmentError(`no virtual shard ${vshard}`);
    if (owner < 0 || owner >= this.owners) throw new AllotmentError(`no owner ${owner}`);
    this.#table[vshard] = owner;
    return ++this.#epoch;
  }

  toJSON(): AllotmentData {
    return { virtualShards: this.virtualShards, owners: this.owners, table: Array.from(this.#table), epoch: this.#epoch };
  }
}
