/**
 * Finished buildset records as the scheduler stores them, for history tests:
 * each one passes the model's own schema, so the store is fed what it will
 * really get.
 */
import { buildsetSchema, type Buildset, type JobProgress } from '../../src/model/index.js';
import type { JobState } from '../../src/graph/index.js';

const SHA = (n: number): string => n.toString(16).padStart(40, '0');

export interface JobSpec {
  readonly name: string;
  readonly state: JobState;
  readonly attempt?: number;
  readonly reason?: string;
}

export interface BuildsetSpec {
  readonly id: string;
  readonly pipeline?: string;
  readonly ref?: string;
  readonly result?: 'SUCCESS' | 'FAILURE' | 'ERROR' | 'CANCELED';
  readonly endedAt: number;
  readonly jobs?: readonly JobSpec[];
  readonly changedFiles?: string[] | null;
  readonly message?: string | null;
}

/** A done buildset whose checkout succeeded and whose jobs ended as given. */
export function finishedBuildset(spec: BuildsetSpec): Buildset {
  const { id, endedAt } = spec;
  const createdAt = endedAt - 60_000;
  const jobs = spec.jobs ?? [{ name: 'base', state: 'SUCCESS' }];
  const progress = (j: JobSpec, i: number): JobProgress => {
    const ran = j.state !== 'SKIPPED';
    const attempt = ran ? (j.attempt ?? 1) : 0;
    const base = `${id}-j-${j.name}`;
    const requestId = !ran ? null : attempt > 1 ? `${base}.${attempt}` : base;
    const startedAt = ran ? createdAt + 10_000 + i * 1000 : null;
    return {
      name: j.name,
      state: j.state,
      attempt,
      requestBase: ran ? base : null,
      requestId,
      reason: j.reason ?? null,
      queuedAt: ran ? createdAt + 5_000 : null,
      startedAt,
      endedAt: endedAt - 1000 + i,
      lastOutcome: ran
        ? {
            attempt,
            result: j.state === 'SUCCESS' ? 'SUCCESS' : 'FAILURE',
            retryable: false,
            reason: j.state === 'SUCCESS' ? '' : 'exit status 2',
            startedAt,
            endedAt: endedAt - 1000 + i,
            exitCode: j.state === 'SUCCESS' ? 0 : 2,
            logPath: `/var/log/drawbridge/builds/${id}/${j.name}-${attempt}.log`,
          }
        : null,
      heldSemaphores: [],
    };
  };
  const record = {
    id,
    pipeline: spec.pipeline ?? 'deploy',
    ref: spec.ref ?? 'refs/heads/main',
    commit: SHA(endedAt),
    oldCommit: null,
    trigger: { kind: 'manual', detail: 'enqueued by test' },
    changedFiles: spec.changedFiles === undefined ? null : spec.changedFiles,
    layoutVersion: 'v1',
    precedence: 'normal',
    createdAt,
    startedAt: createdAt + 1000,
    endedAt,
    state: 'done',
    result: spec.result ?? 'SUCCESS',
    message: spec.message ?? null,
    graph: {
      jobs: jobs.map((j) => ({
        name: j.name,
        dependencies: [],
        droppedSoftDependencies: [],
        playbook: `playbooks/${j.name}.yml`,
        vars: {},
        semaphores: [],
        timeoutMs: null,
        attempts: 3,
      })),
      selection: [],
      errors: [],
    },
    checkout: {
      state: 'SUCCESS',
      attempt: 1,
      requestBase: `${id}-checkout`,
      requestId: `${id}-checkout`,
      reason: null,
      queuedAt: createdAt + 1000,
      startedAt: createdAt + 2000,
      endedAt: createdAt + 4000,
      lastOutcome: {
        attempt: 1,
        result: 'SUCCESS',
        retryable: false,
        reason: '',
        startedAt: createdAt + 2000,
        endedAt: createdAt + 4000,
        exitCode: null,
        logPath: `/var/log/drawbridge/builds/${id}/checkout-1.log`,
      },
    },
    jobs: jobs.map(progress),
  };
  return buildsetSchema.parse(record);
}
