/**
 * persistence/postgres/: schema migrations, the per-assessment snapshot store
 * and the command journal over porsager/postgres.
 */
export { isUnavailable, mapPgError, PgUnavailableError } from './errors.js';
export { decodeJson, encodeJson } from '../../engine/index.js';
export { DatabaseNameError, databaseName, ensureDatabase } from './ensure-database.js';
export { loadMigrations, migrate, MIGRATION_LOCK_KEY, MigrationChecksumError, MIGRATIONS_DIR } from './migrator.js';
export type { MigrateOptions, MigrateResult, Migration } from './migrator.js';
export { PgJournal } from './pg-journal.js';
export type { PgJournalOptions } from './pg-journal.js';
export { PgCheckpointStore } from './pg-checkpoint-store.js';
export type { PgCheckpointStoreOptions } from './pg-checkpoint-store.js';
export { PgSnapshotStore, SnapshotRowError } from './pg-snapshot-store.js';
export {
  DataDirInUseError,
  EMBEDDED_POSTGRES_SETTINGS,
  EmbeddedPostgres,
  EmbeddedPostgresError,
  recommendedClientOptions,
  recommendedSnapshotStoreOptions,
  type EmbeddedPostgresOptions,
} from './embedded-postgres.js';
export { copyField, copyIn, copySnapshots } from './copy-snapshots.js';
export type { SnapshotColumns } from './copy-snapshots.js';
export type { PgSnapshotStoreOptions, SnapshotRow, StoredSnapshotRow } from './pg-snapshot-store.js';
export { PgShardJournal } from './pg-shard-journal.js';
export type { PgShardJournalOptions } from './pg-shard-journal.js';
export { CheckpointRegressionError, PgShardStore, shardOfKey } from './pg-shard-store.js';
export type { PgShardStoreOptions } from './pg-shard-store.js';
export { PgMembership } from './pg-membership.js';
export { PgPurchaseStore } from './pg-purchase-store.js';
export { PgSimulationStore } from './pg-simulation-store.js';
export { convertLegacyGroup, LegacyLayoutConflictError } from './legacy-group.js';
export type { LegacyConversion } from './legacy-group.js';
