/**
 * The engine's ordered inputs and its outputs. Inputs are the only thing an
 * engine run depends on; the same inputs in the same order give the same
 * events, whatever the number of shards.
 */
import type { AssessmentEvent, Command, Instrument, PositionEvidence, Resolution, Tick } from '../actors/index.js';

export type TickInput = { readonly type: 'tick' } & Tick;
export type ResolutionInput = { readonly type: 'resolution' } & Resolution;
/**
 * The engine's time moves to `time` (epoch ms) if later: every deadline up to
 * it fires, each as of its own instant. Ticks and resolutions move time by
 * their `ts` the same way; a clock input is needed only when no tick comes.
 */
export type ClockInput = { readonly type: 'clock'; readonly time: number };

/** An instrument becomes known (a tape line, or a definition on the market stream ahead of its ticks). */
export type InstrumentInput = { readonly type: 'instrument'; readonly instrument: Instrument };

/** One input, as a tape line or a journal record holds it. */
export type EngineInput =
  | { readonly type: 'tier'; readonly tier: unknown }
  | InstrumentInput
  | { readonly type: 'create'; readonly assessmentId: string; readonly traderId: string; readonly tierId: string }
  | TickInput
  | { readonly type: 'command'; readonly assessmentId: string; readonly command: Command }
  | ClockInput
  | ResolutionInput;

/** An input with its position in the engine's total order. */
export interface SequencedInput {
  /** Position in the input order, from 0. */
  readonly i: number;
  readonly input: EngineInput;
  /**
   * The input's event coordinate: the `input` every event it causes carries.
   * Absent: `i`. An engine node gives a market input its market seq and a
   * journal entry the seq it follows, so events name the same coordinate
   * whichever process, shard count or recovery produced them. Inputs that
   * share a coordinate continue each actor's event number `n`.
   */
  readonly at?: number;
}

/** Why the engine refused an input without handing it to an actor. */
export type InputRejectReason = 'UNKNOWN_ASSESSMENT' | 'DUPLICATE_ASSESSMENT' | 'UNKNOWN_TIER' | 'CLOCK_NOT_SET' | 'ACTOR_QUARANTINED';

/** Events the engine itself emits about an assessment. */
export type KernelEvent =
  | {
      readonly type: 'engine.input-rejected';
      readonly assessmentId: string;
      readonly at: number;
      readonly reason: InputRejectReason;
      readonly detail: string;
    }
  | { readonly type: 'actor.quarantined'; readonly assessmentId: string; readonly at: number; readonly error: string };

export type EngineEvent = AssessmentEvent | KernelEvent;

/** An event with its place in the output order: (input, assessment, n). */
export type OutputEvent = EngineEvent & { readonly input: number; readonly n: number };

/** Total order of output events: by input, then assessment id, then emission order. */
export function compareOutput(a: OutputEvent, b: OutputEvent): number {
  return a.input - b.input || (a.assessmentId < b.assessmentId ? -1 : a.assessmentId > b.assessmentId ? 1 : 0) || a.n - b.n;
}

/** The live state of an assessment as pushed to its watchers. */
export interface StateDelta {
  readonly assessmentId: string;
  readonly status: string;
  readonly phase: string;
  /** The phase's starting balance: returns are measured from it. */
  readonly startingBalance: number;
  readonly balance: number;
  readonly equity: number;
  readonly dailyFloor: number;
  readonly maxLossFloor: number;
  readonly positions: readonly PositionEvidence[];
  readonly workingOrders: number;
  /** Last input applied when the delta was taken. */
  readonly input: number;
  /** The engine's time (the feed's) when the delta was taken, ms since the epoch: the clock a chart of deltas and events shares. */
  readonly at: number;
}
