/**
 * A {@link RowSink} that keeps what one ingest batch wrote: inserted rows in
 * order, and of the rows written more than once (open trades, the day) the
 * last version. The Postgres store writes it in one statement per table.
 */
import type { RowSink } from './history-fold.js';
import type { DayRow, FillRow, PointRow, TradeRow, TransitionRow, ViolationRow } from './history-rows.js';

export class RowBatch implements RowSink {
  readonly fills: FillRow[] = [];
  readonly trades = new Map<string, TradeRow>();
  readonly days = new Map<string, DayRow>();
  readonly points: PointRow[] = [];
  readonly transitions: TransitionRow[] = [];
  readonly violations: ViolationRow[] = [];

  fill(row: FillRow): void {
    this.fills.push(row);
  }
  trade(row: TradeRow): void {
    this.trades.set(`${row.assessmentId}\u0000${row.no}`, row);
  }
  day(row: DayRow): void {
    this.days.set(`${row.assessmentId}\u0000${row.phaseIndex}\u0000${row.dayIndex}`, row);
  }
  point(row: PointRow): void {
    this.points.push(row);
  }
  transition(row: TransitionRow): void {
    this.transitions.push(row);
  }
  violation(row: ViolationRow): void {
    this.violations.push(row);
  }

  /** Rows of every kind written. */
  get size(): number {
    return this.fills.length + this.trades.size + this.days.size + this.points.length + this.transitions.length + this.violations.length;
  }
}
