/**
 * What follows every change to a running buildset: jobs that can no longer
 * run are skipped (with the reason naming the nearest blocked ancestor), and
 * once every job is final the buildset is done.
 */
import { isSuccess, isTerminal, jobsToSkip } from '../graph/index.js';
import type { JobState } from '../graph/index.js';
import type { Buildset, BuildsetResult, JobProgress } from '../model/buildset.js';
import { buildsetHolder, type BuildsetAction } from './actions.js';
import { graphOf, statesOf } from './graph-view.js';

/** Puts a job in a final state and releases what it held (the action is always emitted). */
export function finishJob(
  job: JobProgress,
  state: JobState,
  reason: string | null,
  now: number,
  out: BuildsetAction[],
): void {
  job.state = state;
  job.reason = reason;
  job.endedAt = now;
  out.push({
    type: 'release-semaphores',
    job: job.name,
    holder: job.requestBase,
    semaphores: job.heldSemaphores,
  });
  job.heldSemaphores = [];
}

/** Skip propagation, then the done check. Only a running buildset settles. */
export function settle(bs: Buildset, now: number, out: BuildsetAction[]): void {
  if (bs.state !== 'running') return;
  const byName = new Map(bs.jobs.map((j) => [j.name, j]));
  for (const skip of jobsToSkip(graphOf(bs), statesOf(bs))) {
    const job = byName.get(skip.job);
    if (job !== undefined) finishJob(job, 'SKIPPED', skip.reason, now, out);
  }
  if (!bs.jobs.every((j) => isTerminal(j.state))) return;
  if (bs.jobs.every((j) => isSuccess(j.state))) return endBuildset(bs, 'SUCCESS', null, now, out);
  const bad = bs.jobs.filter((j) => !isSuccess(j.state) && j.state !== 'SKIPPED');
  const skipped = bs.jobs.length - bad.length - bs.jobs.filter((j) => isSuccess(j.state)).length;
  const listed = bad.map((j) => `${j.name} (${j.state})`).join(', ');
  const why = `failed: ${listed}${skipped > 0 ? `; ${skipped} skipped` : ''}`;
  endBuildset(bs, 'FAILURE', why, now, out);
}

/** Ends the buildset; one that was started gives its pipeline semaphores back. */
export function endBuildset(
  bs: Buildset,
  result: BuildsetResult,
  message: string | null,
  now: number,
  out: BuildsetAction[],
): void {
  bs.state = 'done';
  bs.result = result;
  bs.message = message;
  bs.endedAt = now;
  const release = buildsetRelease(bs);
  if (release !== undefined) out.push(release);
}

/** The release of a done buildset's own semaphores, if it ever took them. */
export function buildsetRelease(bs: Buildset): BuildsetAction | undefined {
  // startedAt is set by the start transition, which the shell applies only
  // after it holds the semaphores: a buildset never started never held them.
  if (bs.state !== 'done' || bs.startedAt === null || bs.semaphores.length === 0) return undefined;
  return {
    type: 'release-semaphores',
    job: null,
    holder: buildsetHolder(bs),
    semaphores: [...bs.semaphores],
  };
}
