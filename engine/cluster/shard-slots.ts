/**
 * What a cluster node knows of each virtual shard it deals with: whether it
 * is taking it, serving it or handing it over, the epoch it holds it at, the
 * version of its stored checkpoint, the last journal position applied, and
 * the assessments it holds (for intake's unknown/duplicate checks).
 */
import { shardOf } from '../shard.js';

/** Where a shard stands on this node. */
export type SlotState = 'acquiring' | 'serving' | 'releasing' | 'dropping';

/** One shard on this node. */
export interface ShardSlot {
  readonly shard: number;
  state: SlotState;
  /** Owner epoch this node holds the shard at (0 until claimed). */
  epoch: number;
  /** Version of the shard's stored checkpoint. */
  version: number;
  /** Last journal position of this shard applied. */
  journalPos: number;
  /** Assessments of this shard (created or restored). */
  readonly known: Set<string>;
  /** performance.now() of the last checkpoint of this shard saved (or loaded). */
  savedAt: number;
  /** Written by the next checkpoint even if no actor changed (just taken, so its stored checkpoint is behind). */
  due: boolean;
}

/** Called when this node starts or stops serving a shard. */
export type ShardChangeListener = (shard: number, serving: boolean, epoch: number) => void;

/** The node's shards; see the module comment. */
export class ShardSlots {
  readonly #slots = new Map<number, ShardSlot>();
  readonly #listeners: ShardChangeListener[] = [];
  readonly #served = new Set<number>();

  /** Listen to ownership changes; returns a function that stops listening. */
  onChange(listener: ShardChangeListener): () => void {
    this.#listeners.push(listener);
    return () => {
      const at = this.#listeners.indexOf(listener);
      if (at >= 0) this.#listeners.splice(at, 1);
    };
  }

  /** Shards served now (a live view). */
  get served(): ReadonlySet<number> {
    return this.#served;
  }

  get(shard: number): ShardSlot | undefined {
    return this.#slots.get(shard);
  }

  /** Every shard this node takes, serves or hands over. */
  get busy(): ReadonlySet<number> {
    return new Set(this.#slots.keys());
  }

  all(): IterableIterator<ShardSlot> {
    return this.#slots.values();
  }

  /** Start taking a shard; undefined when it is already here in some state. */
  begin(shard: number): ShardSlot | undefined {
    if (this.#slots.has(shard)) return undefined;
    const slot: ShardSlot = {
      shard,
      state: 'acquiring',
      epoch: 0,
      version: 0,
      journalPos: 0,
      known: new Set(),
      savedAt: performance.now(),
      due: true,
    };
    this.#slots.set(shard, slot);
    return slot;
  }

  /** The slot serving `shard` at `epoch`, if that is still so. */
  serving(shard: number, epoch?: number): ShardSlot | undefined {
    const s = this.#slots.get(shard);
    return s !== undefined && s.state === 'serving' && (epoch === undefined || s.epoch === epoch) ? s : undefined;
  }

  /** The slot that serves `assessmentId`'s shard, if any. */
  servingFor(assessmentId: string): ShardSlot | undefined {
    return this.serving(shardOf(assessmentId));
  }

  /** Mark a slot serving and tell the listeners. */
  serve(slot: ShardSlot): void {
    slot.state = 'serving';
    this.#served.add(slot.shard);
    this.#emit(slot.shard, true, slot.epoch);
  }

  /** Move a serving slot to `releasing` or `dropping` (intake for it stops at once). */
  leave(slot: ShardSlot, state: 'releasing' | 'dropping'): void {
    const was = slot.state;
    slot.state = state;
    if (was === 'serving') {
      this.#served.delete(slot.shard);
      this.#emit(slot.shard, false, slot.epoch);
    }
  }

  /** Forget a slot (released, dropped, or a claim that failed). */
  remove(slot: ShardSlot): void {
    if (this.#slots.get(slot.shard) !== slot) return;
    this.#slots.delete(slot.shard);
    if (this.#served.delete(slot.shard)) this.#emit(slot.shard, false, slot.epoch);
  }

  #emit(shard: number, serving: boolean, epoch: number): void {
    for (const l of this.#listeners) {
      try {
        l(shard, serving, epoch);
      } catch {
        // A listener's failure must not stop a move.
      }
    }
  }
}
