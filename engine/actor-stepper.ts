/**
 * Runs a shard's actor steps (shard-kernel.ts): one environment for every
 * step, the step's events stamped with their coordinate (input, n) and
 * committed only if the step returns, and a throw quarantining the actor.
 * Engine-made events (rejections, quarantines) are numbered in the same
 * sequence as the actor's own.
 */
import type { Cause, Command, MarketView } from '../actors/index.js';
import type { ActorSlots } from './actor-slots.js';
import type { DeltaTracker } from './delta-tracker.js';
import type { EngineEvent, InputRejectReason, OutputEvent } from './inputs.js';
import type { KernelStats } from './shard-kernel-types.js';

/** What an actor step is. */
export const STEP_TICK = 0;
export const STEP_COMMAND = 1;
export const STEP_CLOCK = 2;
export const STEP_RESOLUTION = 3;

/** What the kernel does around a step: re-index after it, re-schedule after events, un-index on quarantine. */
export interface StepHooks {
  stepped(slot: number, emitted: boolean): void;
  quarantined(slot: number): void;
}

export class ActorStepper {
  /** The one environment of every step; `now` is the shard's time. */
  readonly env: { readonly market: MarketView; now: number; readonly emit: (e: EngineEvent) => void };
  /** Event coordinate of the input being applied (see `SequencedInput.at`). */
  at = -1;
  #out: OutputEvent[] = [];
  /** Events of the step in progress; committed only if the step returns. */
  readonly #step: EngineEvent[] = [];
  readonly #slots: ActorSlots;
  readonly #stats: KernelStats;
  readonly #deltas: DeltaTracker;
  readonly #hooks: StepHooks;
  readonly #beforeStep: ((assessmentId: string) => void) | undefined;

  constructor(
    market: MarketView,
    parts: { slots: ActorSlots; stats: KernelStats; deltas: DeltaTracker; hooks: StepHooks },
    beforeStep: ((assessmentId: string) => void) | undefined,
  ) {
    const events = this.#step;
    this.env = { market, now: 0, emit: (e) => events.push(e) };
    this.#slots = parts.slots;
    this.#stats = parts.stats;
    this.#deltas = parts.deltas;
    this.#hooks = parts.hooks;
    this.#beforeStep = beforeStep;
  }

  /** Take the events committed since the last call, in order. */
  drain(): OutputEvent[] {
    const out = this.#out;
    this.#out = [];
    return out;
  }

  /** Start a step outside {@link call} (an actor's creation): its events wait for {@link commit}. */
  begin(): void {
    this.#step.length = 0;
  }

  /** Run one actor step; a throw quarantines the actor and discards the step's events. */
  call(slot: number, kind: number, arg: unknown): void {
    const actor = this.#slots.actors[slot]!;
    const env = this.env;
    const events = this.#step;
    events.length = 0;
    this.#stats.evaluations++;
    this.#slots.touch(slot);
    try {
      this.#beforeStep?.(actor.state.id);
      if (kind === STEP_TICK) actor.onTick(arg as Extract<Cause, { kind: 'tick' }>, env);
      else if (kind === STEP_COMMAND) actor.onCommand(arg as Command, env);
      else if (kind === STEP_CLOCK) actor.onClock(env);
      else actor.onResolution(arg as Extract<Cause, { kind: 'resolution' }>, env);
    } catch (err) {
      this.#quarantine(slot, err);
      return;
    }
    const emitted = events.length > 0;
    if (emitted) this.commit(slot);
    this.#hooks.stepped(slot, emitted);
  }

  /** Commit the step's events as `slot`'s, numbered after its earlier events at this coordinate. */
  commit(slot: number): void {
    const events = this.#step;
    const stats = this.#stats;
    const at = this.at;
    const base = this.#slots.claim(slot, at, events.length);
    for (let n = 0; n < events.length; n++) {
      const e = events[n]!;
      if (e.type === 'order.filled') stats.fills++;
      else if (e.type === 'rules.violation-detected') stats.violations++;
      else if (e.type === 'assessment.passed' || e.type === 'assessment.phase-passed') stats.passes++;
      else if (e.type === 'assessment.failed') stats.failures++;
      const out = e as OutputEvent & { input: number; n: number };
      out.input = at; // events are fresh objects from the actor: stamp, don't copy
      out.n = base + n;
      this.#out.push(out);
    }
    events.length = 0;
    this.#deltas.changed(slot);
  }

  /** Refuse an input about `assessmentId` with an event. */
  reject(assessmentId: string, reason: InputRejectReason, detail: string): void {
    const slot = this.#slots.slotOf.get(assessmentId);
    this.#out.push({
      type: 'engine.input-rejected',
      assessmentId,
      at: this.env.now,
      reason,
      detail,
      input: this.at,
      n: slot === undefined ? 0 : this.#slots.claim(slot, this.at, 1),
    });
  }

  #quarantine(slot: number, err: unknown): void {
    const actor = this.#slots.actors[slot]!;
    this.#step.length = 0;
    this.#slots.quarantined[slot] = true;
    this.#stats.quarantined++;
    this.#hooks.quarantined(slot);
    const error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
    this.#out.push({
      type: 'actor.quarantined',
      assessmentId: actor.state.id,
      at: this.env.now,
      error,
      input: this.at,
      n: this.#slots.claim(slot, this.at, 1),
    });
  }
}
