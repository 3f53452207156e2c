/**
 * persistence/: the snapshot codec, and the Postgres stores behind the
 * engine node's ports (checkpoints, the journal).
 */
export {
  decodeSnapshot,
  DEFAULT_MAX_STATE_BYTES,
  encodeSnapshot,
  SnapshotDecodeError,
  SnapshotSizeGuard,
  SnapshotTooLargeError,
} from './snapshot-codec.js';
export type { SnapshotSizeGuardOptions } from './snapshot-codec.js';
export {
  CheckpointRegressionError,
  convertLegacyGroup,
  DatabaseNameError,
  databaseName,
  ensureDatabase,
  LegacyLayoutConflictError,
  PgMembership,
  PgPurchaseStore,
  PgShardJournal,
  PgShardStore,
  shardOfKey,
} from './postgres/index.js';
export type { LegacyConversion, PgShardJournalOptions, PgShardStoreOptions } from './postgres/index.js';
export {
  copySnapshots,
  decodeJson,
  encodeJson,
  isUnavailable,
  loadMigrations,
  mapPgError,
  migrate,
  MIGRATION_LOCK_KEY,
  MigrationChecksumError,
  MIGRATIONS_DIR,
  PgCheckpointStore,
  PgJournal,
  PgSnapshotStore,
  PgUnavailableError,
  SnapshotRowError,
} from './postgres/index.js';
export type {
  MigrateOptions,
  PgCheckpointStoreOptions,
  PgJournalOptions,
  MigrateResult,
  Migration,
  PgSnapshotStoreOptions,
  SnapshotColumns,
  SnapshotRow,
  StoredSnapshotRow,
} from './postgres/index.js';
export {
  connectRedis,
  createSharedState,
  MemoryIdempotencyPrecheck,
  MemoryLeaderboard,
  MemoryRateLimiter,
  RedisIdempotencyPrecheck,
  RedisLeaderboard,
  RedisRateLimiter,
  SharedStateUnavailableError,
} from './redis/index.js';
export type {
  ClaimResult,
  ConnectRedisOptions,
  IdempotencyPrecheck,
  Leaderboard,
  LeaderboardEntry,
  RankedEntry,
  RateLimiter,
  RateLimiterOptions,
  RateLimitResult,
  SharedState,
  SharedStateOptions,
} from './redis/index.js';

export type { EquitySeries } from './history/equity-series.js';
export type { AssessmentRow, DayRow, HeldPosition, PointRow, TradeRow, TransitionRow, ViolationRow } from './history/history-rows.js';
export { HistoryProjector, PgHistoryReader, PgHistoryStore, PgReportStore, tapMarketLog } from './history/index.js';
export type { HistoryEvent } from './history/index.js';
export { MarkRecorder } from './history/mark-recorder.js';
export type { ReportHeader, ReportKind, StoredReport } from './history/pg-report-store.js';
export {
  DataDirInUseError,
  EmbeddedPostgres,
  EmbeddedPostgresError,
  recommendedClientOptions,
  recommendedSnapshotStoreOptions,
} from './postgres/embedded-postgres.js';
export { PgSimulationStore } from './postgres/index.js';
