/**
 * Brings claimed shards from their checkpoints to the live node's market
 * position, in this thread: a `ShardKernel` restored from the checkpoint
 * applies the market log from its `tick_seq + 1` merged with the shards'
 * journal entries after their `journal_pos`, each at its event coordinate
 * (a market input at its seq, an entry at its watermark), exactly as
 * `mergeSequenced` orders a from-scratch replay.
 *
 * Shards whose checkpoints share a market position and kernel state share a
 * kernel. The part of the market log the live node has already applied is
 * read with a reader of its own ("history"), or taken from the node's ring
 * of recent inputs when it reaches back far enough; from the moment the catch-up is
 * registered the live pump hands it each input it applies (`onMarket`), so
 * the kernels end at exactly the live position without the pump waiting.
 * The catch-up is done once every kernel is at the live position and every
 * journal entry is applied; the node then adopts the actors at that boundary.
 */
import type { Instrument, Tier } from '../../actors/index.js';
import type { EngineInput, OutputEvent } from '../inputs.js';
import { MarketInputGate } from '../market-input-gate.js';
import { MarketRegistry } from '../market-validation.js';
import type { JournalRecord, MarketInput, MarketLog } from '../node/ports.js';
import { ShardKernel, type ActorSnapshot } from '../shard-kernel.js';
import { shardOf } from '../shard.js';
import type { ShardCheckpoint } from './cluster-ports.js';

/** A kernel and the shards it catches up. */
interface Group {
  readonly kernel: ShardKernel;
  readonly gate: MarketInputGate;
  readonly shards: number[];
  /** Market seq applied so far. */
  tickSeq: number;
  /** The group's journal entries in position order, and how many are applied. */
  readonly entries: JournalRecord[];
  next: number;
  /** Dense positions inside this kernel (its own, unrelated to the live engine's). */
  i: number;
}

/** What one shard brings to a catch-up. */
export interface CatchUpShard {
  readonly shard: number;
  /** Its checkpoint; undefined: no checkpoint, replay from the first market input. */
  readonly checkpoint: ShardCheckpoint | undefined;
  /** Its journal entries after the checkpoint's position, in position order. */
  readonly entries: readonly JournalRecord[];
}

/** Options of {@link ShardCatchUp}. */
export interface ShardCatchUpOptions {
  /** Tiers and instruments a kernel without a checkpoint starts with (the engine's own). */
  readonly tiers: readonly Tier[];
  readonly instruments: readonly Instrument[];
  /** Where the catch-up kernels' events go (a crashed owner may never have published them). */
  readonly onEvents: (events: readonly OutputEvent[]) => void;
}

/** One catch-up of a set of shards; see the module comment. */
export class ShardCatchUp {
  readonly shards: readonly number[];
  readonly #groups: Group[] = [];
  readonly #o: ShardCatchUpOptions;
  /** Live inputs handed over while the history is read. */
  #buffer: MarketInput[] | undefined = [];
  /** Last market seq the live node applied. */
  #live: number;
  /** The live position when the catch-up was registered: where the history ends. */
  readonly #registeredAt: number;
  /** Last journal position applied, per shard. */
  readonly #journalPos = new Map<number, number>();

  /** @param live the live node's market position when the catch-up is registered */
  constructor(shards: readonly CatchUpShard[], live: number, options: ShardCatchUpOptions) {
    this.#o = options;
    this.#live = live;
    this.shards = shards.map((s) => s.shard);
    this.#registeredAt = live;
    const byKey = new Map<
      string,
      { cp: ShardCheckpoint | undefined; shards: number[]; actors: ActorSnapshot[]; entries: JournalRecord[] }
    >();
    for (const s of shards) {
      const cp = s.checkpoint;
      this.#journalPos.set(s.shard, cp?.journalPos ?? 0);
      const key = cp === undefined ? 'scratch' : `${cp.tickSeq}\u0000${cp.metaText}`;
      let part = byKey.get(key);
      if (part === undefined) byKey.set(key, (part = { cp, shards: [], actors: [], entries: [] }));
      part.shards.push(s.shard);
      if (cp !== undefined) for (const a of cp.actors) part.actors.push(a);
      for (const e of s.entries) part.entries.push(e);
    }
    for (const { cp, shards: members, actors, entries } of byKey.values()) {
      const kernel =
        cp === undefined
          ? new ShardKernel({ tiers: options.tiers, instruments: options.instruments })
          : ShardKernel.restore({ ...cp.meta, actors });
      const book = kernel.book.snapshot();
      this.#groups.push({
        kernel,
        gate: new MarketInputGate(new MarketRegistry(book.instruments, book.resolutions)),
        shards: members,
        tickSeq: cp?.tickSeq ?? 0,
        entries,
        next: 0,
        i: 0,
      });
    }
    for (const g of this.#groups) {
      g.entries.sort((a, b) => a.position - b.position);
      this.#applyEntries(g, g.tickSeq); // entries at the checkpoint's own seq come right after it
    }
    if (!this.needsHistory) this.#buffer = undefined;
    this.#flushEvents();
  }

  /** Whether some kernel is behind the live position (then {@link readHistory} must run). */
  get needsHistory(): boolean {
    return this.#groups.some((g) => g.tickSeq < this.#live);
  }

  /** Market seq the history starts after. */
  get from(): number {
    return Math.min(...this.#groups.map((g) => g.tickSeq));
  }

  /** Every kernel at the live position with every journal entry applied: ready to adopt. */
  get done(): boolean {
    return this.#buffer === undefined && this.#groups.every((g) => g.tickSeq === this.#live && g.next === g.entries.length);
  }

  /** Last journal position applied for `shard` (its checkpoint's when none was replayed). */
  journalPos(shard: number): number {
    return this.#journalPos.get(shard) ?? 0;
  }

  /**
   * Read the market log from the oldest checkpoint up to the position the
   * live node had when this catch-up was registered, then apply what the
   * live node handed over meanwhile.
   */
  async readHistory(market: MarketLog, stopped: () => boolean): Promise<void> {
    const target = this.#registeredAt;
    if (this.#buffer !== undefined && this.from < target) {
      const reader = market.open(this.from + 1);
      try {
        for await (const m of reader) {
          if (stopped()) return;
          if (m.seq > target) break; // the rest came through onMarket
          this.#apply(m);
          if (m.seq === target) break;
        }
      } finally {
        await reader.stop();
      }
    }
    const buffered = this.#buffer ?? [];
    this.#buffer = undefined;
    for (const m of buffered) this.#apply(m);
    this.#flushEvents();
  }

  /**
   * Catch up from inputs the live node applied after {@link from} (a
   * {@link RecentMarket} slice, in order, ending at the live position), in
   * place of {@link readHistory}: nothing is read, the catch-up is done on return.
   */
  catchUpFrom(recent: readonly MarketInput[]): void {
    if (this.#buffer === undefined) return;
    for (const m of recent) if (m.seq <= this.#registeredAt) this.#apply(m);
    const buffered = this.#buffer;
    this.#buffer = undefined;
    for (const m of buffered) this.#apply(m);
    this.#flushEvents();
  }

  /** A market input the live node just applied (called synchronously by its pump). */
  onMarket(m: MarketInput): void {
    this.#live = m.seq;
    if (this.#buffer !== undefined) {
      this.#buffer.push(m);
      return;
    }
    this.#apply(m);
    this.#flushEvents();
  }

  /** The caught-up actors of every shard, whole (call when {@link done}). */
  actors(): ActorSnapshot[] {
    return this.#groups.flatMap((g) => g.kernel.snapshot().actors);
  }

  #apply(m: MarketInput): void {
    for (const g of this.#groups) {
      if (g.tickSeq >= m.seq) continue; // this kernel's checkpoint is past it
      this.#applyEntries(g, m.seq - 1);
      const i = g.i++;
      if (g.gate.admit(i, m)) g.kernel.apply({ i, input: m, at: m.seq });
      g.tickSeq = m.seq;
      this.#applyEntries(g, m.seq);
    }
  }

  /** Apply the group's entries whose watermark is at most `seq`, each at its watermark. */
  #applyEntries(g: Group, seq: number): void {
    while (g.next < g.entries.length && g.entries[g.next]!.tickWatermark <= seq) {
      const e = g.entries[g.next++]!;
      g.kernel.apply({ i: g.i++, input: e.input as EngineInput, at: e.tickWatermark });
      this.#journalPos.set(shardOf(e.input.assessmentId), e.position);
    }
  }

  #flushEvents(): void {
    for (const g of this.#groups) {
      const events = g.kernel.drainEvents();
      if (events.length > 0) this.#o.onEvents(events);
    }
  }
}
