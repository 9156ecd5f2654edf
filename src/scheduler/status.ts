/**
 * The status summary of one pipeline: what the web serves and the status
 * page shows, written by a scheduler after each pass. Plain JSON, derived
 * only from the stored records, `now` and expected durations (from history).
 *
 * ETA: the critical path of the remaining work, where a finished job counts
 * 0, a waiting or queued job its expected duration and a running job what
 * is left of it. A queued buildset of a serial (or supercedent, per ref)
 * pipeline starts when the one ahead of it is expected to end.
 */
import type { PipelineManager } from '../config/index.js';
import { criticalPath, isTerminal } from '../graph/index.js';
import type { JobState } from '../graph/index.js';
import type { Buildset, PipelineState, StepProgress } from '../model/buildset.js';
import { graphOf } from './graph-view.js';
import type { BuildsetLookup } from './pipeline-queue.js';
import { MissingBuildsetError } from './errors.js';

export interface StatusInput {
  readonly state: PipelineState;
  readonly manager: PipelineManager;
  readonly buildsets: BuildsetLookup;
  readonly now: number;
  /** Expected duration of one build of `job`; negative or non-finite counts as 0. */
  readonly expectedMs: (job: string) => number;
  readonly expectedCheckoutMs: number;
}

export interface StepStatus {
  readonly state: JobState;
  readonly attempt: number;
  /** The current attempt's build request (its log's key); null before the first. */
  readonly requestId: string | null;
  readonly reason: string | null;
  readonly queuedAt: number | null;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  readonly expectedMs: number;
  /** 0 once final; what is left of the expected time otherwise. */
  readonly remainingMs: number;
  readonly lastResult: string | null;
  readonly logPath: string | null;
}

export interface JobStatus extends StepStatus {
  readonly name: string;
  readonly attempts: number;
  readonly dependencies: readonly string[];
  readonly semaphores: readonly string[];
}

export interface ProgressCounts {
  readonly total: number;
  readonly waiting: number;
  readonly queued: number;
  readonly running: number;
  readonly succeeded: number;
  /** Final and neither SUCCESS nor SKIPPED: failed, timed out, error, retry limit, canceled. */
  readonly failed: number;
  readonly skipped: number;
  readonly finished: number;
}

export interface BuildsetStatus {
  readonly id: string;
  /** 0-based place in the pipeline's queue. */
  readonly position: number;
  readonly ref: string;
  readonly commit: string;
  readonly oldCommit: string | null;
  readonly trigger: Buildset['trigger'];
  readonly layoutVersion: string;
  /** The pipeline semaphores it holds from start to end (waits for while queued). */
  readonly semaphores: readonly string[];
  readonly state: Buildset['state'];
  readonly result: Buildset['result'];
  readonly message: string | null;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly endedAt: number | null;
  readonly progress: ProgressCounts;
  /** Remaining work along the critical path, checkout included; 0 once done. */
  readonly remainingMs: number;
  /** The remaining critical path, first job first. */
  readonly criticalPath: readonly string[];
  readonly estimatedStartAt: number | null;
  readonly estimatedEndAt: number;
  readonly checkout: StepStatus;
  readonly jobs: readonly JobStatus[];
}

export interface PipelineStatus {
  readonly pipeline: string;
  readonly manager: PipelineManager;
  readonly generatedAt: number;
  readonly buildsets: readonly BuildsetStatus[];
}

export function pipelineStatus(input: StatusInput): PipelineStatus {
  const { state, buildsets, now } = input;
  const records = state.queue.map((id) => {
    const bs = buildsets.get(id);
    if (bs === undefined) throw new MissingBuildsetError(state.pipeline, id);
    return bs;
  });
  const lanes = new Map<string, number>();
  const laneOf = (bs: Buildset) =>
    input.manager === 'serial' ? '' : input.manager === 'supercedent' ? bs.ref : bs.id;
  const started = records.filter((b) => b.state === 'checkout' || b.state === 'running');
  // Started buildsets occupy their lane first, whatever their queue position.
  for (const bs of started) lanes.set(laneOf(bs), now + remainingOf(bs, input).remainingMs);
  const statuses = new Map<string, BuildsetStatus>();
  for (const bs of [...started, ...records.filter((b) => !started.includes(b))]) {
    const position = state.queue.indexOf(bs.id);
    const startAt = bs.state === 'queued' ? Math.max(now, lanes.get(laneOf(bs)) ?? now) : null;
    const status = buildsetStatus(bs, position, startAt, input);
    if (bs.state === 'queued') lanes.set(laneOf(bs), status.estimatedEndAt);
    statuses.set(bs.id, status);
  }
  return {
    pipeline: state.pipeline,
    manager: input.manager,
    generatedAt: now,
    buildsets: records.map((bs) => statuses.get(bs.id) as BuildsetStatus),
  };
}

function buildsetStatus(
  bs: Buildset,
  position: number,
  startAt: number | null,
  input: StatusInput,
): BuildsetStatus {
  const { remainingMs, path } = remainingOf(bs, input);
  const endAt =
    bs.state === 'done' ? (bs.endedAt ?? input.now) : (startAt ?? input.now) + remainingMs;
  return {
    id: bs.id,
    position,
    ref: bs.ref,
    commit: bs.commit,
    oldCommit: bs.oldCommit,
    trigger: { ...bs.trigger },
    layoutVersion: bs.layoutVersion,
    semaphores: [...bs.semaphores],
    state: bs.state,
    result: bs.result,
    message: bs.message,
    createdAt: bs.createdAt,
    startedAt: bs.startedAt,
    endedAt: bs.endedAt,
    progress: countStates(bs.jobs.map((j) => j.state)),
    remainingMs,
    criticalPath: path,
    estimatedStartAt: startAt,
    estimatedEndAt: endAt,
    checkout: stepStatus(bs.checkout, safe(input.expectedCheckoutMs), input.now),
    jobs: bs.jobs.map((job, i) => {
      const frozen = bs.graph.jobs[i];
      return {
        name: job.name,
        attempts: frozen?.attempts ?? 1,
        dependencies: [...(frozen?.dependencies ?? [])],
        semaphores: [...(frozen?.semaphores ?? [])],
        ...stepStatus(job, safe(input.expectedMs(job.name)), input.now),
      };
    }),
  };
}

function remainingOf(bs: Buildset, input: StatusInput): { remainingMs: number; path: string[] } {
  if (bs.state === 'done') return { remainingMs: 0, path: [] };
  const left = new Map(
    bs.jobs.map((j) => [j.name, remaining(j, safe(input.expectedMs(j.name)), input.now)]),
  );
  const critical = criticalPath(graphOf(bs), (job) => left.get(job) ?? 0);
  const checkout = remaining(bs.checkout, safe(input.expectedCheckoutMs), input.now);
  const path = critical.path.filter((job) => (left.get(job) ?? 0) > 0);
  return { remainingMs: checkout + critical.makespanMs, path };
}

function remaining(step: StepProgress, expectedMs: number, now: number): number {
  if (isTerminal(step.state)) return 0;
  if (step.state !== 'RUNNING' || step.startedAt === null) return expectedMs;
  return Math.max(0, expectedMs - (now - step.startedAt));
}

function stepStatus(step: StepProgress, expectedMs: number, now: number): StepStatus {
  return {
    state: step.state,
    attempt: step.attempt,
    requestId: step.requestId,
    reason: step.reason,
    queuedAt: step.queuedAt,
    startedAt: step.startedAt,
    endedAt: step.endedAt,
    expectedMs,
    remainingMs: remaining(step, expectedMs, now),
    lastResult: step.lastOutcome?.result ?? null,
    logPath: step.lastOutcome?.logPath ?? null,
  };
}

export function countStates(states: readonly JobState[]): ProgressCounts {
  const count = (pred: (s: JobState) => boolean) => states.filter(pred).length;
  return {
    total: states.length,
    waiting: count((s) => s === 'WAITING'),
    queued: count((s) => s === 'QUEUED' || s === 'RETRY'),
    running: count((s) => s === 'RUNNING'),
    succeeded: count((s) => s === 'SUCCESS'),
    failed: count((s) => isTerminal(s) && s !== 'SUCCESS' && s !== 'SKIPPED'),
    skipped: count((s) => s === 'SKIPPED'),
    finished: count(isTerminal),
  };
}

// Durations come from history; a corrupt entry must not take the status page down.
function safe(ms: number): number {
  return Number.isFinite(ms) && ms > 0 ? ms : 0;
}
