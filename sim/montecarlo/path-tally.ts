/**
 * What the path loops share: the plan a worker derives from a job, the
 * per-chunk records, the per-path tally and the fan recorder. Apart from
 * path-kernel.ts so that the bootstrap and parametric loops it runs can use
 * them without importing it back.
 */
import type { SimulationJob } from './simulation-spec.js';

/** Everything a worker needs, derived once from the job (structured-clone safe). */
export interface KernelPlan {
  readonly job: SimulationJob;
  readonly returns: Float64Array;
  readonly tradesPerDay: Int32Array;
  /** Mean block length (block bootstrap), else NaN. */
  readonly blockLength: number;
  readonly horizonTrades: number;
  readonly horizonDays: number;
  readonly compound: boolean;
  readonly fanSteps: number;
  /** Cumulative P&L below which the account is ruined. */
  readonly ruinLevel: number;
  /** Keep drawing after the verdict, for the ruin tracker (the job asks for the risk of ruin). */
  readonly trackRuin: boolean;
  readonly start0: number;
  /** Fan rows to record: the job's `fanPaths` when it asks for the fan, else 0. */
  readonly fanPaths: number;
  /** The per-path records the job's outputs read; the others are empty arrays, and no work goes into them. */
  readonly wants: Wants;
}

/** Which per-path records a job's outputs need. */
export interface Wants {
  readonly passDay: boolean;
  readonly maxDrawdown: boolean;
  readonly finalPnl: boolean;
}

/** Per-path records of one chunk; a record the job does not want is an empty array. */
export interface ChunkRecords {
  readonly first: number;
  readonly outcome: Uint8Array;
  /** Day of the pass (1 = the first day), NaN when the path did not pass. */
  readonly passDay: Float64Array;
  readonly maxDrawdown: Float64Array;
  readonly finalPnl: Float64Array;
  readonly ruined: Uint8Array;
  /** Rows of `fanSteps + 1` cumulative-P&L values for the recorded paths of this chunk. */
  readonly fan: Float64Array;
  readonly fanRows: number;
}

/** Mutable per-path figures shared by the bootstrap and parametric loops. */
export class PathTally {
  cum = 0;
  peak = 0;
  drawdown = 0;
  ruinPnl = 0;
  ruined = false;
  taken = 0;
  fanRow = -1;

  reset(fanRow: number): void {
    this.cum = 0;
    this.peak = 0;
    this.drawdown = 0;
    this.ruinPnl = 0;
    this.ruined = false;
    this.taken = 0;
    this.fanRow = fanRow;
  }

  /** The judged account moved through `lo..hi` and realized `realized`. */
  judged(lo: number, hi: number, realized: number, ended: boolean): void {
    const low = this.cum + (ended ? Math.max(lo, realized) : lo);
    if (this.peak - low > this.drawdown) this.drawdown = this.peak - low;
    const high = this.cum + hi;
    if (high > this.peak) this.peak = high;
  }
}

/** Record cumulative P&L after trade `tally.taken` for the fan. */
export function recordFan(plan: KernelPlan, tally: PathTally, rec: ChunkRecords, liveCum: number): void {
  if (tally.fanRow < 0 || tally.taken > plan.fanSteps) return;
  rec.fan[tally.fanRow * (plan.fanSteps + 1) + tally.taken] = liveCum;
}
