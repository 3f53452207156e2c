/**
 * A shard's single-threaded kernel: its actors, the market book, the price
 * index that sends a tick only to the actors it can affect (price-index.ts),
 * and the clock deadlines. `full-scan` mode evaluates every exposed actor on
 * every tick instead; tests prove both modes emit the same events.
 */
import { AssessmentActor, parseTier, type AssessmentState, type Figures, type Tier } from '../actors/index.js';
import type { OutputEvent, SequencedInput, StateDelta } from './inputs.js';
import { ActorStepper, STEP_CLOCK, STEP_COMMAND, STEP_RESOLUTION, STEP_TICK } from './actor-stepper.js';
import { DeltaTracker } from './delta-tracker.js';
import { MarketBook } from './market-book.js';
import { stateDelta } from './state-delta.js';
import { grow, PriceIndex } from './price-index.js';
import { TriggerHeap } from './trigger-heap.js';
import { ActorSlots } from './actor-slots.js';

import type { ActorSnapshot, IndexMode, KernelSnapshot, KernelStats, ShardKernelOptions } from './shard-kernel-types.js';

export type { ActorSnapshot, IndexMode, KernelSnapshot, KernelStats, ShardKernelOptions } from './shard-kernel-types.js';

export class ShardKernel {
  readonly book: MarketBook;
  readonly mode: IndexMode;
  readonly stats: KernelStats = {
    ticks: 0,
    staleTicks: 0,
    evaluations: 0,
    fills: 0,
    violations: 0,
    passes: 0,
    failures: 0,
    quarantined: 0,
    actors: 0,
    lastInput: -1,
    lastTickSeq: 0,
  };
  readonly #tiers = new Map<string, Tier>();
  readonly #slots = new ActorSlots();
  readonly #actors = this.#slots.actors;
  readonly #quarantined = this.#slots.quarantined;
  readonly #slotOf = this.#slots.slotOf;
  #deadlineVersions = new Uint32Array(1024);
  readonly #deadlines = new TriggerHeap();
  readonly #index = new PriceIndex();
  #now = 0;
  #input = -1;
  readonly #deltas = new DeltaTracker(this.#slotOf);
  readonly #steps: ActorStepper;
  readonly #beforeStep: ((assessmentId: string) => void) | undefined;

  constructor(options: ShardKernelOptions = {}) {
    this.mode = options.mode ?? 'indexed';
    this.#beforeStep = options.beforeStep;
    this.book = new MarketBook(options.instruments ?? []);
    const hooks = {
      stepped: (slot: number, emitted: boolean) => {
        if (emitted) this.#schedule(slot); // a phase change or new status can bring a deadline forward
        // A quiet step leaves the figures it judged: the bands are derived from them rather than marked again.
        this.#reindex(slot, this.#actors[slot]!.takeSettledFigures());
      },
      quarantined: (slot: number) => this.#index.remove(slot),
    };
    this.#steps = new ActorStepper(this.book, { slots: this.#slots, stats: this.stats, deltas: this.#deltas, hooks }, options.beforeStep);
    for (const t of options.tiers ?? []) this.#tiers.set(t.id, t);
  }

  get now(): number {
    return this.#now;
  }

  /** Apply one input. Inputs must arrive in their total order. */
  apply({ i, input, at }: SequencedInput): void {
    this.#input = i;
    this.#steps.at = at ?? i;
    this.stats.lastInput = i;
    switch (input.type) {
      case 'tier': {
        const tier = parseTier(input.tier);
        this.#tiers.set(tier.id, tier);
        break;
      }
      case 'instrument':
        this.book.addInstrument(input.instrument);
        break;
      case 'clock':
        this.#advance(input.time);
        break;
      case 'tick':
        this.#tick(input.seq, input.ts, input.symbol, input.bid, input.ask, input.bidSize, input.askSize);
        break;
      case 'create':
        this.#create(input.assessmentId, input.traderId, input.tierId);
        break;
      case 'command': {
        const slot = this.#slotFor(input.assessmentId);
        if (slot !== undefined) this.#steps.call(slot, STEP_COMMAND, input.command);
        break;
      }
      case 'resolution':
        this.#advance(input.ts);
        this.book.resolve(input.market, input.outcome);
        for (let slot = 0; slot < this.#actors.length; slot++) {
          if (this.#quarantined[slot] || !this.#actors[slot]!.live) continue;
          const cause = { kind: 'resolution', seq: input.seq, ts: input.ts, market: input.market, outcome: input.outcome } as const;
          this.#steps.call(slot, STEP_RESOLUTION, cause);
        }
        break;
    }
  }

  /** Apply a tick input given field by field (the shard worker's allocation-free path). */
  applyTick(
    i: number,
    at: number,
    seq: number,
    ts: number,
    symbol: string,
    bid: number,
    ask: number,
    bidSize: number | undefined,
    askSize: number | undefined,
  ): void {
    this.#input = i;
    this.#steps.at = at;
    this.stats.lastInput = i;
    this.#tick(seq, ts, symbol, bid, ask, bidSize, askSize);
  }

  /** Take the events emitted since the last call, in emission order. */
  drainEvents(): OutputEvent[] {
    return this.#steps.drain();
  }

  /** Push live state for these assessments at every flush, changed or not. */
  watch(ids: readonly string[], on = true): void {
    this.#deltas.watch(ids, on);
  }

  /**
   * State deltas for assessments that changed (or are watched) since the last
   * call. With `slices` > 1, only those of one slice (slot % slices ===
   * `slice`): a caller taking the slices in turn spreads one flush over the
   * interval, so the deltas do not all reach the gateway at one instant.
   */
  takeDeltas(slice = 0, slices = 1): StateDelta[] {
    return this.#deltas.take(slice, slices).map((slot) => stateDelta(this.#actors[slot]!, this.book, this.#steps.at, this.#now));
  }

  /** The current state of one assessment (a copy), or undefined. */
  state(assessmentId: string): AssessmentState | undefined {
    const slot = this.#slotOf.get(assessmentId);
    return slot === undefined ? undefined : this.#actors[slot]!.snapshot();
  }

  /** Ids of every actor of this shard. */
  assessmentIds(): string[] {
    return [...this.#slotOf.keys()];
  }

  /**
   * The whole kernel as plain data. Without a copy the actors' states are the
   * live objects: only for a caller that serializes them at once (postMessage
   * copies them), which saves a second copy of every actor at the peak.
   */
  snapshot(options: { copy?: boolean } = {}): KernelSnapshot {
    const copy = options.copy ?? true;
    return {
      now: this.#now,
      lastTickSeq: this.stats.lastTickSeq,
      lastInput: this.#input,
      book: this.book.snapshot(),
      tiers: [...this.#tiers.values()],
      actors: this.#actors.map((a, slot) => this.#slots.snapshotOf(slot, copy ? a.snapshot() : a.state)),
    };
  }

  /**
   * A snapshot carrying only the actors stepped since the previous checkpoint
   * (every actor when `full`); the rest of the kernel is always whole. Stored
   * over the previous checkpoint's actors it gives this kernel's state.
   */
  checkpoint(full: boolean, options: { copy?: boolean } = {}): KernelSnapshot {
    // Without a copy the states are the live objects: only for a caller that serializes them at once (postMessage).
    const copy = options.copy ?? true;
    const touched = this.#slots.takeTouched();
    const slots = full ? this.#actors.map((_, slot) => slot) : touched;
    return {
      now: this.#now,
      lastTickSeq: this.stats.lastTickSeq,
      lastInput: this.#input,
      book: this.book.snapshot(),
      tiers: [...this.#tiers.values()],
      actors: slots.map((slot) => this.#slots.snapshotOf(slot, copy ? this.#actors[slot]!.snapshot() : this.#actors[slot]!.state)),
    };
  }

  static restore(s: KernelSnapshot, options: Omit<ShardKernelOptions, 'tiers' | 'instruments'> = {}): ShardKernel {
    const k = new ShardKernel({ ...options, tiers: s.tiers });
    k.book.restoreFrom(s.book);
    k.#now = s.now;
    k.#steps.env.now = s.now;
    k.#input = s.lastInput;
    k.stats.lastInput = s.lastInput;
    k.stats.lastTickSeq = s.lastTickSeq;
    for (const a of s.actors) {
      const tier = k.#tiers.get(a.state.tierId);
      if (tier === undefined) throw new Error(`snapshot names tier ${a.state.tierId} it does not carry`);
      k.#place(AssessmentActor.restore(a.state, tier), a.quarantined, a.cursor);
    }
    // Restored actors are already stored as they are: the next checkpoint carries only what changes.
    k.#slots.clearTouched();
    return k;
  }

  /**
   * Add actors that were caught up elsewhere to this kernel's market position
   * (a shard moving in). They join the next checkpoint and owe a delta.
   */
  adopt(actors: readonly ActorSnapshot[]): void {
    for (const a of actors) {
      if (this.#slotOf.has(a.state.id)) throw new Error(`cannot adopt '${a.state.id}': it is already here`);
      const tier = this.#tiers.get(a.state.tierId);
      if (tier === undefined) throw new Error(`cannot adopt '${a.state.id}': no tier '${a.state.tierId}'`);
      this.#deltas.changed(this.#place(AssessmentActor.restore(a.state, tier), a.quarantined, a.cursor));
    }
  }

  /**
   * This kernel without the actors `drop` names (a shard moving out): a new
   * kernel at the same input boundary, and the removed actors' whole
   * snapshots. What a snapshot does not hold (checkpoint and delta
   * bookkeeping, watches, counters) carries over to the kept actors.
   */
  without(drop: (assessmentId: string) => boolean): { kernel: ShardKernel; removed: ActorSnapshot[] } {
    const kept: number[] = [];
    const removed: ActorSnapshot[] = [];
    for (let slot = 0; slot < this.#actors.length; slot++) {
      const a = this.#actors[slot]!;
      if (drop(a.state.id)) removed.push(this.#slots.snapshotOf(slot, a.snapshot()));
      else kept.push(slot);
    }
    if (removed.length === 0) return { kernel: this, removed };
    const k = new ShardKernel({
      mode: this.mode,
      tiers: [...this.#tiers.values()],
      ...(this.#beforeStep === undefined ? {} : { beforeStep: this.#beforeStep }),
    });
    k.book.restoreFrom(this.book.snapshot());
    k.#now = this.#now;
    k.#steps.env.now = this.#now;
    k.#input = this.#input;
    k.#steps.at = this.#steps.at;
    // The kept actors move as they are (this kernel is discarded): no copy of their states,
    // so a shard leaving costs its own actors' snapshots, not every actor's.
    for (const slot of kept) k.#place(this.#actors[slot]!, this.#quarantined[slot]!, this.#slots.cursor(slot));
    k.#slots.clearTouched();
    Object.assign(k.stats, this.stats, { actors: k.stats.actors });
    k.#deltas.watch(this.#deltas.watched(), true);
    const idOf = (slot: number): string => this.#actors[slot]!.state.id;
    for (const id of this.#slots.touchedIds()) {
      const slot = k.#slotOf.get(id);
      if (slot !== undefined) k.#slots.touch(slot);
    }
    for (const id of [...this.#deltas.pending()].map(idOf)) {
      const slot = k.#slotOf.get(id);
      if (slot !== undefined) k.#deltas.changed(slot);
    }
    return { kernel: k, removed };
  }

  // -- INPUT HANDLERS ---------------------------------------------------------------

  #tick(seq: number, ts: number, symbol: string, bid: number, ask: number, bidSize: number | undefined, askSize: number | undefined): void {
    if (seq <= this.stats.lastTickSeq) {
      this.stats.staleTicks++; // a redelivery: applying by sequence makes it a no-op
      return;
    }
    this.stats.lastTickSeq = seq;
    this.stats.ticks++;
    if (ts > this.#now) this.#advance(ts); // deadlines passed before this tick fire at the quotes before it
    this.book.applyQuote(symbol, seq, ts, bid, ask, bidSize, askSize);
    if (this.mode === 'full-scan') {
      const cause = { kind: 'tick', seq, ts, symbol, bid, ask } as const;
      for (let slot = 0; slot < this.#actors.length; slot++) {
        if (!this.#quarantined[slot] && exposedTo(this.#actors[slot]!.state, symbol)) this.#steps.call(slot, STEP_TICK, cause);
      }
      return;
    }
    const n = this.#index.hits(symbol, bid, ask);
    if (n === 0) return; // most ticks: nothing to judge, nothing to allocate
    const hits = this.#index.hitSlots;
    const cause = { kind: 'tick', seq, ts, symbol, bid, ask } as const; // one per tick, shared by its verdicts
    for (let h = 0; h < n; h++) this.#steps.call(hits[h]!, STEP_TICK, cause);
  }

  /**
   * Move the shard's time to `time` if it is later (time never goes back) and
   * fire every actor's deadlines up to it. Every time-stamped input calls
   * this before it is applied, so a tick past a reset is judged on the new
   * day, whichever of the tick and the clock beat came first. Every shard
   * sees every time-stamped input, so all shards share this time.
   */
  #advance(time: number): void {
    if (!(time > this.#now)) return;
    this.#now = time;
    this.#steps.env.now = time;
    if (this.mode === 'full-scan') {
      for (let slot = 0; slot < this.#actors.length; slot++) {
        if (!this.#quarantined[slot] && this.#actors[slot]!.nextDeadline(this.book) <= time) this.#steps.call(slot, STEP_CLOCK, undefined);
      }
      return;
    }
    if (this.#deadlines.minKey > time) return; // most ticks: nothing is due
    const due: number[] = [];
    this.#deadlines.popUpTo(time, this.#deadlineVersions, (slot) => due.push(slot));
    for (const slot of due) {
      if (this.#quarantined[slot]) continue;
      this.#steps.call(slot, STEP_CLOCK, undefined);
      this.#schedule(slot);
    }
    this.#deadlines.compactIfStale(this.#deadlineVersions);
  }

  #create(assessmentId: string, traderId: string, tierId: string): void {
    const tier = this.#tiers.get(tierId);
    if (this.#now === 0) {
      // An account stamped at epoch 0 would roll ~20,000 trading days at the first timestamp.
      this.#steps.reject(
        assessmentId,
        'CLOCK_NOT_SET',
        'no time-stamped input yet (clock, tick or resolution): the engine cannot date a new assessment',
      );
    } else if (this.#slotOf.has(assessmentId)) {
      this.#steps.reject(assessmentId, 'DUPLICATE_ASSESSMENT', `assessment '${assessmentId}' already exists`);
    } else if (tier === undefined) {
      this.#steps.reject(assessmentId, 'UNKNOWN_TIER', `no tier '${tierId}'`);
    } else {
      this.#steps.begin();
      const slot = this.#add(AssessmentActor.create({ assessmentId, traderId }, tier, this.#steps.env));
      this.#steps.commit(slot);
      this.#reindex(slot);
      this.#schedule(slot);
    }
  }

  #slotFor(assessmentId: string): number | undefined {
    const slot = this.#slotOf.get(assessmentId);
    if (slot === undefined) this.#steps.reject(assessmentId, 'UNKNOWN_ASSESSMENT', `no assessment '${assessmentId}' on this engine`);
    else if (this.#quarantined[slot])
      this.#steps.reject(assessmentId, 'ACTOR_QUARANTINED', `assessment '${assessmentId}' is quarantined after an internal error`);
    else return slot;
    return undefined;
  }

  #add(actor: AssessmentActor): number {
    const slot = this.#slots.add(actor);
    this.#index.addSlot(slot);
    this.#deltas.added(actor.state.id);
    this.stats.actors++;
    if (slot >= this.#deadlineVersions.length) this.#deadlineVersions = grow(this.#deadlineVersions, slot);
    return slot;
  }

  /** Add an actor as a snapshot or another kernel holds it: indexed and scheduled unless quarantined. */
  #place(actor: AssessmentActor, quarantined: boolean, cursor: readonly [number, number] | undefined): number {
    const slot = this.#add(actor);
    this.#quarantined[slot] = quarantined;
    this.#slots.setCursor(slot, cursor);
    if (!quarantined) this.#reindex(slot);
    this.#schedule(slot);
    return slot;
  }

  // -- INDEX AND DEADLINES ---------------------------------------------------------------

  #reindex(slot: number, fig?: Figures): void {
    if (this.mode === 'indexed') this.#index.update(slot, this.#actors[slot]!, this.book, fig);
  }

  /** (Re)enter the actor's next clock deadline. Early is harmless; late would miss a roll. */
  #schedule(slot: number): void {
    this.#deadlineVersions[slot]!++;
    if (this.mode === 'full-scan' || this.#quarantined[slot]) return;
    const t = this.#actors[slot]!.nextDeadline(this.book);
    if (Number.isFinite(t)) this.#deadlines.push(t, slot, this.#deadlineVersions[slot]!);
  }
}

function exposedTo(s: AssessmentState, symbol: string): boolean {
  if (s.status !== 'active' && s.status !== 'paused') return false; // a paused account's positions are still judged
  if (symbol in s.positions) return true;
  for (const id in s.orders) if (s.orders[id]!.symbol === symbol) return true;
  return false;
}
