/**
 * Which of a shard's actors owe a state delta at the next flush: those that
 * changed since their last delta, and those someone watches (every flush,
 * changed or not). Actors are slots; watched ones are named by id, since a
 * watch may come before the actor exists.
 */
export class DeltaTracker {
  readonly #dirty = new Set<number>();
  readonly #watched = new Set<string>();
  /** Watched slots by slice (slot % slices), for staggered flushes; rebuilt when the watch set or the actors change. */
  #slices: Array<Set<number>> | undefined;
  readonly #slotOf: ReadonlyMap<string, number>;

  /** @param slotOf the kernel's map of actor slots, read when the watched slots are rebuilt */
  constructor(slotOf: ReadonlyMap<string, number>) {
    this.#slotOf = slotOf;
  }

  /** Start or stop watching these assessments. */
  watch(ids: readonly string[], on: boolean): void {
    for (const id of ids) {
      if (on) this.#watched.add(id);
      else this.#watched.delete(id);
    }
    this.#slices = undefined;
  }

  /** The watched ids. */
  watched(): string[] {
    return [...this.#watched];
  }

  /** Slots changed since their last delta. */
  pending(): ReadonlySet<number> {
    return this.#dirty;
  }

  /** An actor was added: it may have been watched before it existed. */
  added(id: string): void {
    if (this.#watched.has(id)) this.#slices = undefined;
  }

  /** An actor's state changed. */
  changed(slot: number): void {
    this.#dirty.add(slot);
  }

  /**
   * The slots owed a delta in `slice` of `slices` (slot % slices === slice),
   * each once, the changed ones first; they are no longer changed after this.
   */
  take(slice: number, slices: number): number[] {
    if (this.#slices?.length !== slices) this.#slices = this.#split(slices);
    const watched = this.#slices[slice]!;
    const out: number[] = [];
    for (const slot of this.#dirty) {
      if (slot % slices !== slice) continue;
      this.#dirty.delete(slot);
      if (!watched.has(slot)) out.push(slot);
    }
    for (const slot of watched) out.push(slot);
    return out;
  }

  #split(slices: number): Array<Set<number>> {
    const out = Array.from({ length: slices }, () => new Set<number>());
    for (const id of this.#watched) {
      const slot = this.#slotOf.get(id);
      if (slot !== undefined) out[slot % slices]!.add(slot);
    }
    return out;
  }
}
