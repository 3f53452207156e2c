/**
 * What a cluster node needs from its stores, per virtual shard: a journal
 * whose every entry is fenced by its shard's owner epoch, checkpoints and
 * ownership rows per shard, and a membership table with leases. Postgres
 * implements them (persistence/postgres/); the node imports none of it.
 */
import type { ActorRows } from '../checkpoint-rows.js';
import type { ActorSnapshot, KernelSnapshot } from '../shard-kernel.js';
import type { JournalAppend, JournalAppendResult, JournalRecord } from '../node/ports.js';

/** One actor as a checkpoint holds it: its state, whether quarantined, and its event cursor. */
export type ShardActor = ActorSnapshot;

/** The kernel's shared part (clock, market book, tiers): everything but the actors. */
export type KernelMeta = Omit<KernelSnapshot, 'actors'>;

/** A journal entry to append, for a shard held at `epoch`. */
export interface ShardJournalAppend extends JournalAppend {
  readonly shard: number;
  readonly epoch: number;
}

/** Outcome of one entry: as a group journal's, or refused because its shard has a newer owner. */
export type ShardJournalAppendResult =
  | JournalAppendResult
  | { readonly ok: false; readonly reason: 'FENCED'; readonly position?: undefined };

/** The command journal, partitioned by virtual shard. */
export interface ShardJournal {
  /**
   * Append in order in one statement. Each entry is written only while its
   * shard is held at its `epoch`; the entries of a shard claimed by a newer
   * owner come back `FENCED` (the others are written). Rejects with a
   * `JournalOutcomeUnknownError` when the batch may have been written though
   * no answer came, and with `PgUnavailableError` when nothing was.
   */
  appendBatch(entries: readonly ShardJournalAppend[]): Promise<ShardJournalAppendResult[]>;
  /** Entries of these shards after each one's position (shard → position), in position order, page by page. */
  readShards(after: ReadonlyMap<number, number>): AsyncIterable<readonly JournalRecord[]>;
}

/** A shard's newest checkpoint as stored. */
export interface ShardCheckpoint {
  readonly shard: number;
  readonly version: number;
  /** Last market seq folded in. */
  readonly tickSeq: number;
  /** Last journal position of this shard folded in. */
  readonly journalPos: number;
  readonly meta: KernelMeta;
  /** Names the meta as stored (equal for equal metas), to group shards that share one cheaply. */
  readonly metaText: string;
  readonly actors: readonly ShardActor[];
}

/** A checkpoint of one shard to save, by its owner at `epoch`. */
export interface ShardCheckpointWrite {
  readonly shard: number;
  readonly epoch: number;
  readonly version: number;
  /** Engine input position of the boundary (informational: positions are per process). */
  readonly inputPos: number;
  readonly tickSeq: number;
  readonly journalPos: number;
  readonly meta: KernelMeta;
  /** Actors changed since the shard's stored checkpoint (or all of them). */
  readonly actors: readonly ShardActor[];
  /** The same actors already encoded as rows (by the shard workers); when set, `actors` is not read. */
  readonly rows?: ActorRows;
}

/** Who holds a shard. */
export interface ShardOwner {
  readonly shard: number;
  readonly epoch: number;
  /** Member that claimed it; null for a solo node. */
  readonly ownerNode: string | null;
  readonly released: boolean;
}

/** How a claim may take a shard. */
export interface ClaimRule {
  /** Claiming member; null for a solo node. */
  readonly node: string | null;
  /**
   * Take it whatever holds it (a solo node). Otherwise only a shard that is
   * unowned, released, held under this node's name, or held by a member
   * whose lease lapsed (by the database clock).
   */
  readonly force: boolean;
  /** Epochs seen when the claim was decided (shard → epoch; 0 for no row): a claim of a shard that moved since is refused. @default no condition */
  readonly expected?: ReadonlyMap<number, number>;
}

/** Per-shard ownership and checkpoints, fenced by owner epoch. */
export interface ShardStore {
  /** States larger than this (UTF-8 bytes) are reported when saved. @default no limit */
  readonly maxStateBytes?: number;
  /** Claim shards: the new epoch of each shard taken (epoch + 1); shards not taken are absent. */
  claim(shards: readonly number[], rule: ClaimRule): Promise<Map<number, number>>;
  /** The newest checkpoint of each shard that has one, actors whole. */
  load(shards: readonly number[]): Promise<Map<number, ShardCheckpoint>>;
  /**
   * Save checkpoints of many shards in one transaction; each is written only
   * while its shard is held at its epoch. `release` marks those shards
   * released in the same transaction. Resolves with the shards refused
   * because a newer owner holds them (nothing of theirs is written).
   */
  save(writes: readonly ShardCheckpointWrite[], options?: { readonly release?: boolean }): Promise<{ readonly fenced: readonly number[] }>;
  /** Mark shards released without a checkpoint (their last one stands), each only while held at its epoch; resolves with those marked. */
  release(shards: ReadonlyMap<number, number>): Promise<number[]>;
  /** Every shard's owner row (shards never claimed are absent). */
  owners(): Promise<ShardOwner[]>;
  /** The newest checkpoint's meta and market seq over all shards, to start an engine from; undefined when none exists. */
  newestMeta(): Promise<{ readonly tickSeq: number; readonly meta: KernelMeta } | undefined>;
}

/** A member as the membership table shows it. */
export interface Member {
  readonly nodeId: string;
  readonly incarnation: number;
  readonly draining: boolean;
  /** Milliseconds until its lease lapses, by the database clock. */
  readonly expiresInMs: number;
  readonly info: Readonly<Record<string, unknown>>;
}

/** Outcome of a lease renewal. */
export type RenewOutcome =
  /** Renewed in time. */
  | 'renewed'
  /** Renewed, but the lease had lapsed: others may have taken shards of this node. */
  | 'lapsed'
  /** Another process took this node's name (a newer incarnation): this one must stop. */
  | 'replaced';

/** Members and their leases; every time is the database's. */
export interface MembershipStore {
  /** Take the name `nodeId` with a new incarnation and a lease of `ttlMs`. */
  join(nodeId: string, ttlMs: number, info: Record<string, unknown>): Promise<{ readonly incarnation: number }>;
  renew(nodeId: string, incarnation: number, ttlMs: number): Promise<RenewOutcome>;
  setDraining(nodeId: string, incarnation: number, draining: boolean): Promise<void>;
  /** Leave: the row goes, so the others stop counting this node at once. */
  leave(nodeId: string, incarnation: number): Promise<void>;
  /** Members whose lease has not lapsed, by node id. */
  live(): Promise<Member[]>;
}
