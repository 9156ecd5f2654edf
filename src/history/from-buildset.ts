/**
 * A finished buildset record (what the scheduler keeps in ZooKeeper) as
 * history rows. Pure. Ids are stable across replays, so writing the same
 * record twice changes nothing.
 */
import type { Buildset, StepProgress } from '../model/index.js';
import type { BuildKind, HistoryBuild, HistoryEntry } from './types.js';

/** The name the checkout step has in the history (and in build requests). */
export const CHECKOUT_JOB = 'checkout';

export function historyEntryOf(bs: Buildset): HistoryEntry {
  const endedAt = bs.endedAt ?? bs.startedAt ?? bs.createdAt;
  const builds: HistoryBuild[] = [];
  // A checkout that was never requested (a buildset whose graph did not freeze) has no row.
  if (bs.checkout.attempt > 0 || bs.checkout.endedAt !== null)
    builds.push(buildOf(bs, CHECKOUT_JOB, 'checkout', bs.checkout, endedAt));
  for (const job of bs.jobs) builds.push(buildOf(bs, job.name, 'job', job, endedAt));
  return {
    buildset: {
      id: bs.id,
      pipeline: bs.pipeline,
      ref: bs.ref,
      commit: bs.commit,
      oldCommit: bs.oldCommit,
      triggerKind: bs.trigger.kind,
      triggerDetail: bs.trigger.detail,
      changedFiles: bs.changedFiles,
      layoutVersion: bs.layoutVersion,
      // Only done buildsets reach the history, and a done buildset has a result.
      result: bs.result ?? 'ERROR',
      message: bs.message,
      createdAt: bs.createdAt,
      startedAt: bs.startedAt,
      endedAt,
    },
    builds,
  };
}

function buildOf(
  bs: Buildset,
  job: string,
  kind: BuildKind,
  step: StepProgress,
  buildsetEnd: number,
): HistoryBuild {
  const last = step.lastOutcome;
  return {
    // ':' never occurs in a request id (a znode name), so a made-up id cannot collide.
    id: step.requestId ?? `${bs.id}:${job}`,
    buildsetId: bs.id,
    pipeline: bs.pipeline,
    job,
    kind,
    ref: bs.ref,
    commit: bs.commit,
    result: step.state,
    attempt: step.attempt,
    reason: step.reason ?? (last !== null && last.reason !== '' ? last.reason : null),
    queuedAt: step.queuedAt,
    startedAt: step.startedAt ?? last?.startedAt ?? null,
    endedAt: step.endedAt ?? last?.endedAt ?? buildsetEnd,
    exitCode: last?.exitCode ?? null,
    logPath: last?.logPath ?? null,
  };
}
