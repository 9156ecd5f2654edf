/**
 * Builders shared by the scheduler's unit and property tests (not used at
 * run time). Kept beside the tests because the records they build are this
 * module's own.
 */
import type { ResolvedJob } from '../config/index.js';
import type { BuildCompletedEvent, BuildOutcome, BuildResult } from '../model/build.js';
import type { Buildset } from '../model/buildset.js';
import { applyInput } from './buildset-machine.js';
import { createBuildset, type CreateBuildsetInput } from './create.js';
import { dispatchable, markDispatched } from './dispatch.js';

export const SHA = 'a'.repeat(40);
export const OLD_SHA = 'b'.repeat(40);

/** `deps`: names, a leading `~` makes the dependency soft. */
export function job(name: string, deps: readonly string[] = [], over: Partial<ResolvedJob> = {}) {
  const source = { file: 'zuul.d/jobs.yaml', line: 1 };
  const resolved: ResolvedJob = {
    name,
    dependencies: deps.map((d) => ({ name: d.replace(/^~/, ''), soft: d.startsWith('~') })),
    files: [],
    irrelevantFiles: [],
    pipeline: 'deploy',
    description: undefined,
    playbook: `playbooks/${name}.yaml`,
    vars: {},
    semaphores: [],
    timeoutMs: undefined,
    attempts: 3,
    source,
    listedAt: source,
    ...over,
  };
  return resolved;
}

export function createInput(
  jobs: readonly ResolvedJob[],
  over: Partial<CreateBuildsetInput> = {},
): CreateBuildsetInput {
  return {
    id: 'bs1',
    pipeline: 'deploy',
    ref: 'refs/heads/main',
    commit: SHA,
    oldCommit: OLD_SHA,
    trigger: { kind: 'ref-updated', detail: 'push by alice' },
    changedFiles: null,
    layoutVersion: 'v1',
    precedence: 'normal',
    jobs,
    now: 1000,
    ...over,
  };
}

/** A created buildset; throws when the jobs select nothing. */
export function buildset(
  jobs: readonly ResolvedJob[],
  over: Partial<CreateBuildsetInput> = {},
): Buildset {
  const result = createBuildset(createInput(jobs, over));
  if (result.kind !== 'created') throw new Error('expected a buildset');
  return result.buildset;
}

export function outcome(result: BuildResult, over: Partial<BuildOutcome> = {}): BuildOutcome {
  return {
    result,
    retryable: false,
    reason: result === 'SUCCESS' ? 'ok' : `${result.toLowerCase()} happened`,
    startedAt: 1100,
    endedAt: 1200,
    exitCode: result === 'SUCCESS' ? 0 : null,
    logPath: '/var/log/drawbridge/x.log',
    ...over,
  };
}

/** The completion event of a step's current request ('checkout' for the checkout step). */
export function completion(
  bs: Buildset,
  name: string,
  result: BuildResult | BuildOutcome,
): BuildCompletedEvent {
  const step = name === 'checkout' ? bs.checkout : bs.jobs.find((j) => j.name === name);
  if (step?.requestId == null) throw new Error(`${name} has no request`);
  return {
    type: 'build-completed',
    requestId: step.requestId,
    buildsetId: bs.id,
    job: name,
    attempt: step.attempt,
    outcome: typeof result === 'string' ? outcome(result) : result,
  };
}

export function stateOf(bs: Buildset, name: string): string | undefined {
  return bs.jobs.find((j) => j.name === name)?.state;
}

/** Started, checked out: the buildset is running and its first jobs are ready. */
export function running(bs: Buildset): Buildset {
  const started = applyInput(bs, { type: 'start', requestId: 'co' }, 2000).buildset;
  return applyInput(started, completion(started, 'checkout', 'SUCCESS'), 2100).buildset;
}

/** Marks every ready job dispatched, request id `req-<job>`. */
export function dispatchAll(bs: Buildset, now = 3000): Buildset {
  let next = bs;
  for (const c of dispatchable(bs))
    next = markDispatched(next, c.job, `req-${c.job}`, now).buildset;
  return next;
}
