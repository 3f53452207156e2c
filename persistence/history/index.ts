/**
 * persistence/history/: the history read model. Domain events folded per
 * assessment into fills, round-trip trades, days, equity points, transitions
 * and violations (Postgres, migration 0006), idempotent by each event's
 * identity `(assessmentId, input, n)`; market marks for the equity series.
 */
export { compareIdentity, ended, foldEvent, follows, heldPositions, initialFold } from './history-fold.js';
export type { FoldState, RowSink } from './history-fold.js';
export { floorOf } from './history-rows.js';
export type {
  AssessmentRow,
  ClosedBy,
  DayRow,
  FillRow,
  HeldPosition,
  HistoryEvent,
  PointKind,
  PointRow,
  TradeRow,
  TransitionKind,
  TransitionRow,
  ViolationRow,
} from './history-rows.js';
export { equitySeries, heldSymbols, resolutionFor } from './equity-series.js';
export type { BucketMarks, EquityPoint, EquitySeries } from './equity-series.js';
export { MARK_BUCKET_MS, MarkRecorder } from './mark-recorder.js';
export type { MarkInput } from './mark-recorder.js';
export { HISTORY_TABLES, PgHistoryStore } from './pg-history-store.js';
export type { MarkBucket } from './pg-history-store.js';
export { PgHistoryReader } from './pg-history-reader.js';
export type { Page } from './pg-history-reader.js';
export { HistoryProjector } from './history-projector.js';
export type { HistoryProjectorOptions, HistoryWriter } from './history-projector.js';
export { RowBatch } from './row-batch.js';
export { tapMarketLog } from './market-tap.js';
export { PgReportStore } from './pg-report-store.js';
export type { ReportHeader, ReportKind, StoredReport } from './pg-report-store.js';
