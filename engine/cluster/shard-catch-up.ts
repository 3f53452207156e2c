/**
 * Brings claimed shards from their checkpoints to the live node's market
 * position, in this thread: a `ShardKernel` restored from the oldest
 * checkpoint applies the market log from its `tick_seq + 1` merged with the
 * shards' journal entries after their `journal_pos`, each at its event
 * coordinate (a market input at its seq, an entry at its watermark), exactly
 * as `mergeSequenced` orders a from-scratch replay.
 *
 * One kernel serves every shard: a shard whose checkpoint is newer joins it
 * (`adopt`) once the kernel reaches its checkpoint's market seq, when the
 * kernel's market state there equals the checkpoint's (it does: both are the
 * same market inputs folded in), so each market input is applied once, not
 * once per distinct checkpoint seq. A shard whose checkpoint disagrees gets a
 * kernel of its own from there. Actors do not see each other, so each one
 * sees the same inputs in the same order as alone. The part of the market
 * log the live node has already applied is read with a reader of its own
 * ("history"), or taken from the node's ring of recent inputs when it
 * reaches back far enough; from the moment the catch-up is registered the
 * live pump hands it each input it applies (`onMarket`), so the kernels end
 * at exactly the live position without the pump waiting. The catch-up is done
 * once every kernel is at the live position and every journal entry is
 * applied; the node then adopts the actors at that boundary.
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
  /** Tiers of the checkpoint it was restored from, as JSON (a joining checkpoint must carry the same). */
  readonly tiers: string;
  /** Market seq applied so far. */
  tickSeq: number;
  /** Journal entries of each part it holds, in position order, and how many of each are applied. */
  readonly lanes: Lane[];
  /** Dense positions inside this kernel (its own, unrelated to the live engine's). */
  i: number;
}

/**
 * One part's journal entries. Each part keeps its own lane, applied as its
 * own kernel would apply it: an entry waits for the ones before it in
 * position order within its part only.
 */
interface Lane {
  readonly entries: readonly JournalRecord[];
  next: number;
}

/** Shards whose checkpoints share a market position and meta: they start (or join) a kernel together. */
interface Part {
  readonly cp: ShardCheckpoint | undefined;
  readonly tickSeq: number;
  readonly actors: ActorSnapshot[];
  readonly entries: JournalRecord[];
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

/** Where a catch-up's time went, for the take's log line. */
export interface CatchUpStats {
  /** Kernels restored (one, unless some checkpoint's market state disagreed). */
  kernels: number;
  /** Checkpoint parts that joined a running kernel. */
  joined: number;
  /** Market inputs applied (summed over kernels). */
  applied: number;
  /** Where the market inputs already applied live came from: none needed, the ring of recent ones, or the log. */
  history: 'none' | 'ring' | 'log';
  restoreMs: number;
  applyMs: number;
}

/** One catch-up of a set of shards; see the module comment. */
export class ShardCatchUp {
  readonly shards: readonly number[];
  readonly #groups: Group[] = [];
  /** Parts not started yet, oldest checkpoint first. */
  readonly #pending: Part[];
  readonly #o: ShardCatchUpOptions;
  /** Live inputs handed over while the history is read. */
  #buffer: MarketInput[] | undefined = [];
  /** Last market seq the live node applied. */
  #live: number;
  /** The live position when the catch-up was registered: where the history ends. */
  readonly #registeredAt: number;
  /** Last journal position applied, per shard. */
  readonly #journalPos = new Map<number, number>();
  readonly stats: CatchUpStats = { kernels: 0, joined: 0, applied: 0, history: 'none', restoreMs: 0, applyMs: 0 };

  /** @param live the live node's market position when the catch-up is registered */
  constructor(shards: readonly CatchUpShard[], live: number, options: ShardCatchUpOptions) {
    this.#o = options;
    this.#live = live;
    this.shards = shards.map((s) => s.shard);
    this.#registeredAt = live;
    const byKey = new Map<string, Part>();
    for (const s of shards) {
      const cp = s.checkpoint;
      this.#journalPos.set(s.shard, cp?.journalPos ?? 0);
      const key = cp === undefined ? 'scratch' : `${cp.tickSeq}\u0000${cp.metaText}`;
      let part = byKey.get(key);
      if (part === undefined) byKey.set(key, (part = { cp, tickSeq: cp?.tickSeq ?? 0, actors: [], entries: [] }));
      if (cp !== undefined) for (const a of cp.actors) part.actors.push(a);
      for (const e of s.entries) part.entries.push(e);
    }
    // Stable: a scratch part (seq 0) starts the kernel before any checkpoint at seq 0.
    this.#pending = [...byKey.values()].sort((a, b) => a.tickSeq - b.tickSeq);
    const first = this.#pending.shift();
    if (first !== undefined) this.#start(first);
    this.#join(this.#groups[0]?.tickSeq ?? 0);
    if (!this.needsHistory) this.#buffer = undefined;
    this.#flushEvents();
  }

  /** Whether some kernel (or checkpoint not joined yet) is behind the live position (then {@link readHistory} must run). */
  get needsHistory(): boolean {
    return this.#groups.some((g) => g.tickSeq < this.#live) || this.#pending.some((p) => p.tickSeq < this.#live);
  }

  /** Market seq the history starts after. */
  get from(): number {
    return Math.min(...this.#groups.map((g) => g.tickSeq), ...this.#pending.map((p) => p.tickSeq));
  }

  /** Every kernel at the live position with every journal entry applied: ready to adopt. */
  get done(): boolean {
    return (
      this.#buffer === undefined &&
      this.#pending.length === 0 &&
      this.#groups.every((g) => g.tickSeq === this.#live && g.lanes.every((l) => l.next === l.entries.length))
    );
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
      this.stats.history = 'log';
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
    this.#settle();
  }

  /**
   * Catch up from inputs the live node applied after {@link from} (a
   * {@link RecentMarket} slice, in order, ending at the live position), in
   * place of {@link readHistory}: nothing is read, the catch-up is done on return.
   */
  catchUpFrom(recent: readonly MarketInput[]): void {
    if (this.#buffer === undefined) return;
    this.stats.history = 'ring';
    for (const m of recent) if (m.seq <= this.#registeredAt) this.#apply(m);
    const buffered = this.#buffer;
    this.#buffer = undefined;
    for (const m of buffered) this.#apply(m);
    this.#settle();
  }

  /** A market input the live node just applied (called synchronously by its pump). */
  onMarket(m: MarketInput): void {
    this.#live = m.seq;
    if (this.#buffer !== undefined) {
      this.#buffer.push(m);
      return;
    }
    this.#apply(m);
    this.#settle();
  }

  /**
   * The caught-up actors of every shard, whole (call when {@link done}, once:
   * they are the kernels' live states, not copies, for a caller that
   * serializes them at once, as `Engine.adopt` does; the catch-up is over).
   */
  actors(): ActorSnapshot[] {
    return this.#groups.flatMap((g) => g.kernel.checkpoint(true, { copy: false }).actors);
  }

  /** Checkpoints at the kernels' position join now (the live one may be theirs); events go out. */
  #settle(): void {
    this.#join(Math.min(...this.#groups.map((g) => g.tickSeq)));
    this.#flushEvents();
  }

  /** A kernel of its own for `part`, at its checkpoint's seq, with its entries at that seq applied. */
  #start(part: Part): void {
    const t0 = performance.now();
    const cp = part.cp;
    const kernel =
      cp === undefined
        ? new ShardKernel({ tiers: this.#o.tiers, instruments: this.#o.instruments })
        : ShardKernel.restore({ ...cp.meta, actors: part.actors });
    const book = kernel.book.snapshot();
    const g: Group = {
      kernel,
      gate: new MarketInputGate(new MarketRegistry(book.instruments, book.resolutions)),
      tiers: JSON.stringify(cp?.meta.tiers ?? this.#o.tiers),
      tickSeq: part.tickSeq,
      lanes: [{ entries: part.entries.sort((a, b) => a.position - b.position), next: 0 }],
      i: 0,
    };
    this.#groups.push(g);
    this.stats.kernels++;
    this.#applyEntries(g, g.tickSeq); // entries at the checkpoint's own seq come right after it
    this.stats.restoreMs += performance.now() - t0;
  }

  /**
   * Start the parts whose checkpoint is at or before `seq` (every kernel has
   * applied every input up to it): into the first kernel when its market
   * state there is the checkpoint's, else in a kernel of their own.
   */
  #join(seq: number): void {
    while (this.#pending.length > 0 && this.#pending[0]!.tickSeq <= seq) {
      const part = this.#pending.shift()!;
      const g = this.#groups[0];
      if (g === undefined || part.cp === undefined || !this.#sameMarket(g, part.cp)) {
        this.#start(part);
        continue;
      }
      const t0 = performance.now();
      g.kernel.adopt(part.actors);
      // Its entries at its checkpoint's seq come right after it, as in a kernel of its own.
      const lane: Lane = { entries: part.entries.sort((a, b) => a.position - b.position), next: 0 };
      g.lanes.push(lane);
      this.#applyLane(g, lane, part.tickSeq);
      this.stats.joined++;
      this.stats.restoreMs += performance.now() - t0;
    }
  }

  /** Whether the kernel's market state (book, clock, tiers) is the checkpoint's. */
  #sameMarket(g: Group, cp: ShardCheckpoint): boolean {
    return (
      g.kernel.now === cp.meta.now &&
      JSON.stringify(cp.meta.tiers) === g.tiers &&
      JSON.stringify(g.kernel.book.snapshot()) === JSON.stringify(cp.meta.book)
    );
  }

  #apply(m: MarketInput): void {
    // A checkpoint before this input starts (or joins) first: it must see it.
    if (this.#pending.length > 0 && this.#pending[0]!.tickSeq < m.seq) this.#join(m.seq - 1);
    const t0 = performance.now();
    for (const g of this.#groups) {
      if (g.tickSeq >= m.seq) continue; // this kernel's checkpoint is past it
      this.#applyEntries(g, m.seq - 1);
      const i = g.i++;
      if (g.gate.admit(i, m)) g.kernel.apply({ i, input: m, at: m.seq });
      g.tickSeq = m.seq;
      this.stats.applied++;
      this.#applyEntries(g, m.seq);
    }
    this.stats.applyMs += performance.now() - t0;
  }

  /** Apply the group's entries whose watermark is at most `seq`, each at its watermark. */
  #applyEntries(g: Group, seq: number): void {
    for (const lane of g.lanes) this.#applyLane(g, lane, seq);
  }

  #applyLane(g: Group, lane: Lane, seq: number): void {
    while (lane.next < lane.entries.length && lane.entries[lane.next]!.tickWatermark <= seq) {
      const e = lane.entries[lane.next++]!;
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
