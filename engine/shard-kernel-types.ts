/**
 * The data shapes of a shard's kernel (shard-kernel.ts): its options, its
 * plain-data snapshot and its actors' as checkpoints and moves carry them,
 * and the counters it reports.
 */
import type { AssessmentState, Instrument, Tier } from '../actors/index.js';
import type { MarketBookSnapshot } from './market-book.js';

/** How ticks find actors. */
export type IndexMode = 'indexed' | 'full-scan';

export interface ShardKernelOptions {
  /** @default 'indexed' */
  readonly mode?: IndexMode;
  /** Instruments known before any input. @default [] */
  readonly instruments?: Iterable<Instrument>;
  /** Tiers known before any input. @default [] */
  readonly tiers?: readonly Tier[];
  /**
   * Called before every actor step with the assessment id; a throw here is
   * handled exactly like a bug inside the actor. For fault-injection tests.
   * @default undefined
   */
  readonly beforeStep?: (assessmentId: string) => void;
}

/** Plain-data state of a kernel: restoring it and applying the inputs after `lastInput` continues the run exactly. */
export interface KernelSnapshot {
  readonly now: number;
  readonly lastTickSeq: number;
  readonly lastInput: number;
  readonly book: MarketBookSnapshot;
  readonly tiers: Tier[];
  readonly actors: ActorSnapshot[];
}

/** One actor as a snapshot holds it. */
export interface ActorSnapshot {
  readonly state: AssessmentState;
  readonly quarantined: boolean;
  /**
   * The event coordinate of the actor's last committed step and the next
   * event number within it: an input after a restore that shares that
   * coordinate goes on numbering from there. Absent: no step yet.
   */
  readonly cursor?: readonly [input: number, n: number];
}

/** Counters a shard reports. */
export interface KernelStats {
  ticks: number;
  staleTicks: number;
  evaluations: number;
  fills: number;
  violations: number;
  passes: number;
  failures: number;
  quarantined: number;
  actors: number;
  lastInput: number;
  lastTickSeq: number;
}
