/**
 * A shard kernel's actors by slot (shard-kernel.ts): the actors, which are
 * quarantined, each one's event cursor (the coordinate of its last committed
 * step and the next event number within it), and which were stepped since
 * the last checkpoint. Slots only grow; a slot is an index into every table.
 */
import type { AssessmentActor, AssessmentState } from '../actors/index.js';
import type { ActorSnapshot } from './shard-kernel-types.js';

export class ActorSlots {
  readonly actors: AssessmentActor[] = [];
  readonly quarantined: boolean[] = [];
  readonly slotOf = new Map<string, number>();
  readonly #cursorInput: number[] = [];
  readonly #cursorN: number[] = [];
  /** Slots stepped since the last checkpoint: what a changed-only checkpoint must carry. */
  #touched = new Uint8Array(1024);
  readonly #touchedList: number[] = [];

  get length(): number {
    return this.actors.length;
  }

  /** Add an actor in the next slot; it counts as touched (a new actor is in the next checkpoint). */
  add(actor: AssessmentActor): number {
    const slot = this.actors.length;
    this.actors.push(actor);
    this.quarantined.push(false);
    this.#cursorInput.push(-1);
    this.#cursorN.push(0);
    this.slotOf.set(actor.state.id, slot);
    if (slot >= this.#touched.length) {
      const bigger = new Uint8Array(Math.max(this.#touched.length * 2, slot + 1));
      bigger.set(this.#touched);
      this.#touched = bigger;
    }
    this.touch(slot);
    return slot;
  }

  /** Mark a slot stepped since the last checkpoint. */
  touch(slot: number): void {
    if (this.#touched[slot] !== 0) return;
    this.#touched[slot] = 1;
    this.#touchedList.push(slot);
  }

  /** The slots touched since the last call (ascending); none is touched after it. */
  takeTouched(): number[] {
    const out = this.#touchedList.slice().sort((a, b) => a - b);
    this.clearTouched();
    return out;
  }

  /** Forget which slots were touched (their states are stored as they are). */
  clearTouched(): void {
    for (const slot of this.#touchedList) this.#touched[slot] = 0;
    this.#touchedList.length = 0;
  }

  /** Ids of the touched actors, in the order they were first touched. */
  touchedIds(): string[] {
    return this.#touchedList.map((slot) => this.actors[slot]!.state.id);
  }

  /**
   * Reserve `count` event numbers of `slot` at event coordinate `at`; returns
   * the first. A coordinate seen before (a tick stepping an actor twice: its
   * deadlines, then the tick) goes on numbering from its last event.
   */
  claim(slot: number, at: number, count: number): number {
    const base = this.#cursorInput[slot] === at ? this.#cursorN[slot]! : 0;
    this.#cursorInput[slot] = at;
    this.#cursorN[slot] = base + count;
    return base;
  }

  /** Set a slot's cursor from a snapshot (absent: no step yet). */
  setCursor(slot: number, cursor: readonly [input: number, n: number] | undefined): void {
    if (cursor === undefined) return;
    this.#cursorInput[slot] = cursor[0];
    this.#cursorN[slot] = cursor[1];
  }

  /** A slot's cursor, undefined before its first step. */
  cursor(slot: number): readonly [input: number, n: number] | undefined {
    const input = this.#cursorInput[slot]!;
    return input < 0 ? undefined : [input, this.#cursorN[slot]!];
  }

  /** The slot as a snapshot carries it, with `state` (a copy or the live state, as the caller chose). */
  snapshotOf(slot: number, state: AssessmentState): ActorSnapshot {
    const cursor = this.cursor(slot);
    const base = { state, quarantined: this.quarantined[slot] === true };
    return cursor === undefined ? base : { ...base, cursor };
  }
}
