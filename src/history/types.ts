/**
 * What the history keeps of a finished buildset and its builds, how it is
 * queried, and the store's interface. Times are epoch milliseconds. One
 * build row per step (the checkout and each job): its last attempt.
 */
import type { JobState } from '../graph/index.js';
import type { BuildsetResult } from '../model/index.js';

export type BuildKind = 'checkout' | 'job';

export interface HistoryBuildset {
  readonly id: string;
  readonly pipeline: string;
  readonly ref: string;
  readonly commit: string;
  readonly oldCommit: string | null;
  readonly triggerKind: string;
  /** For people: "push by alice", "timer 0 3 * * *". */
  readonly triggerDetail: string;
  /** null: every job ran (timer, manual); otherwise the files the change touched. */
  readonly changedFiles: readonly string[] | null;
  readonly layoutVersion: string;
  readonly result: BuildsetResult;
  readonly message: string | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly endedAt: number;
}

export interface HistoryBuild {
  /** The build request id of the last attempt; `<buildset>:<job>` for a step that never had one. */
  readonly id: string;
  readonly buildsetId: string;
  readonly pipeline: string;
  /** The job's name; `checkout` for the checkout step. */
  readonly job: string;
  readonly kind: BuildKind;
  readonly ref: string;
  readonly commit: string;
  /** The step's final state (SUCCESS, FAILURE, SKIPPED, ...). */
  readonly result: JobState;
  /** Attempts made (0: never requested, e.g. skipped). */
  readonly attempt: number;
  /** Why it ended so: the executor's reason, a skip or cancel reason. */
  readonly reason: string | null;
  readonly queuedAt: number | null;
  readonly startedAt: number | null;
  readonly endedAt: number;
  readonly exitCode: number | null;
  /** Where the executor wrote the log, on the executor's host. */
  readonly logPath: string | null;
}

/** A finished buildset with every build row it produced. */
export interface HistoryEntry {
  readonly buildset: HistoryBuildset;
  readonly builds: readonly HistoryBuild[];
}

/** Filters; every one given must match. `since`/`until` bound `endedAt` (inclusive, exclusive). */
export interface HistoryFilter {
  readonly pipeline?: string;
  /** Buildsets: those with a build of this job. Builds: builds of this job. */
  readonly job?: string;
  readonly result?: string;
  readonly ref?: string;
  readonly since?: number;
  readonly until?: number;
}

export interface Page {
  readonly limit: number;
  readonly skip: number;
}

/** Newest first (by `endedAt`, then id); `more` says whether a next page exists. */
export interface PageOf<T> {
  readonly items: readonly T[];
  readonly more: boolean;
}

/** Counts for metrics: finished buildsets and builds by pipeline and result, build durations. */
export interface HistoryStats {
  readonly buildsets: readonly { pipeline: string; result: string; count: number }[];
  readonly builds: readonly { pipeline: string; result: string; count: number }[];
  /** Per pipeline, jobs that started (not the checkout): cumulative counts per bound. */
  readonly durations: readonly {
    pipeline: string;
    /** Builds that took at most `boundsMs[i]`. */
    buckets: readonly number[];
    count: number;
    sumMs: number;
  }[];
}

/** What web reads. */
export interface HistoryReader {
  stats(boundsMs: readonly number[]): Promise<HistoryStats>;
  listBuildsets(filter: HistoryFilter, page: Page): Promise<PageOf<HistoryBuildset>>;
  listBuilds(filter: HistoryFilter, page: Page): Promise<PageOf<HistoryBuild>>;
  getBuildset(id: string): Promise<HistoryEntry | null>;
  getBuild(id: string): Promise<HistoryBuild | null>;
}

/**
 * A SQL history: SQLite or PostgreSQL. `open()` connects and applies the
 * migrations; every other call opens on demand, so a database that was down
 * at start is picked up once it is back. Calls fail with HistoryUnavailableError.
 */
export interface HistoryStore extends HistoryReader {
  readonly backend: 'sqlite' | 'postgres';
  open(): Promise<void>;
  /** Insert or replace the buildset and its builds, in one transaction. Idempotent. */
  put(entry: HistoryEntry): Promise<void>;
  /** Of these buildset ids, those not stored. */
  missing(ids: readonly string[]): Promise<string[]>;
  /** The schema version applied (0 before the first migration). */
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
}
