/** The SQL history of finished buildsets and builds (docs/history.md). */
export * from './errors.js';
export { expectedDurations } from './durations.js';
export { CHECKOUT_JOB, historyEntryOf } from './from-buildset.js';
export { MIGRATIONS, migrate, type Migration } from './migrations.js';
export { createHistoryStore, type HistoryOptions } from './open.js';
export {
  HistoryRecorder,
  type FinishedBuildsets,
  type FinishedBuildsetSink,
  type RecorderOptions,
} from './recorder.js';
export { SqlHistoryStore, type SqlStoreOptions } from './sql-store.js';
export { SqliteDriver } from './sqlite-driver.js';
export { PostgresDriver, type PostgresDriverOptions } from './postgres-driver.js';
export type * from './types.js';
