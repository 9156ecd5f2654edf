/**
 * Buildsets and pipeline state: the records a scheduler keeps in ZooKeeper
 * while a pipeline runs. Plain JSON, validated on every decode. A buildset
 * carries its own frozen copy of the job graph and of every job's execution
 * attributes, so a reconfiguration never changes a buildset in flight.
 * The transitions live in src/scheduler; this file only says what is valid.
 */
import { z } from 'zod';
import { JOB_STATES } from '../graph/index.js';
import { jsonCodec } from '../zk/codec.js';
import { BUILD_RESULTS } from './build.js';

export const BUILDSET_STATES = ['queued', 'checkout', 'running', 'done'] as const;
export type BuildsetState = (typeof BUILDSET_STATES)[number];

export const BUILDSET_RESULTS = ['SUCCESS', 'FAILURE', 'ERROR', 'CANCELED'] as const;
export type BuildsetResult = (typeof BUILDSET_RESULTS)[number];

export const TRIGGER_KINDS = ['ref-updated', 'timer', 'manual'] as const;

const sha = z.string().regex(/^[0-9a-f]{40}$/, 'a full 40-character commit sha');
const epochMs = z.number().int().nonnegative();
const name = z.string().min(1);

export const buildsetTriggerSchema = z.object({
  kind: z.enum(TRIGGER_KINDS),
  /** For people: "push by alice", "timer 0 3 * * *", "enqueued by bob via REST". */
  detail: z.string(),
});
export type BuildsetTrigger = z.infer<typeof buildsetTriggerSchema>;

/** One selected job as frozen at creation: its edges and what it runs. */
export const frozenJobRecordSchema = z.object({
  name,
  /** Jobs that must succeed first (hard, and soft ones that were selected). */
  dependencies: z.array(name),
  droppedSoftDependencies: z.array(name),
  playbook: z.string(),
  vars: z.record(z.string(), z.unknown()),
  semaphores: z.array(name),
  timeoutMs: z.number().int().positive().nullable(),
  attempts: z.number().int().positive(),
});
export type FrozenJobRecord = z.infer<typeof frozenJobRecordSchema>;

/** Why a job of the pipeline was or was not selected, one line for people. */
export const selectionNoteSchema = z.object({
  job: name,
  selected: z.boolean(),
  message: z.string(),
});
export type SelectionNote = z.infer<typeof selectionNoteSchema>;

export const frozenBuildsetGraphSchema = z.object({
  jobs: z.array(frozenJobRecordSchema),
  selection: z.array(selectionNoteSchema),
  /** Freeze errors (cycle, missing hard dependency); a buildset with any runs nothing. */
  errors: z.array(z.string()),
});
export type FrozenBuildsetGraph = z.infer<typeof frozenBuildsetGraphSchema>;

/** What the last attempt of a step reported. */
export const outcomeSummarySchema = z.object({
  attempt: z.number().int().positive(),
  result: z.enum(BUILD_RESULTS),
  retryable: z.boolean(),
  reason: z.string(),
  startedAt: epochMs.nullable(),
  endedAt: epochMs,
  exitCode: z.number().int().nullable(),
  logPath: z.string().nullable(),
});
export type OutcomeSummary = z.infer<typeof outcomeSummarySchema>;

/** Progress of the checkout step or of one job. */
export const stepProgressSchema = z.object({
  state: z.enum(JOB_STATES),
  /** 0 until the first request; then the attempt of the current request. */
  attempt: z.number().int().nonnegative(),
  /**
   * The id of the first attempt's request, chosen by the scheduler shell;
   * later attempts derive theirs from it. It is also the semaphore holder id.
   */
  requestBase: z.string().min(1).nullable(),
  /** The current attempt's request; events naming any other request are stale. */
  requestId: z.string().min(1).nullable(),
  /** For people: skip or cancel reason, failure reason. */
  reason: z.string().nullable(),
  queuedAt: epochMs.nullable(),
  startedAt: epochMs.nullable(),
  endedAt: epochMs.nullable(),
  lastOutcome: outcomeSummarySchema.nullable(),
});
export type StepProgress = z.infer<typeof stepProgressSchema>;

export const jobProgressSchema = stepProgressSchema.extend({
  name,
  /** Semaphores this job holds now (taken at dispatch, kept across retries). */
  heldSemaphores: z.array(name),
});
export type JobProgress = z.infer<typeof jobProgressSchema>;

export const buildsetSchema = z
  .object({
    id: name,
    pipeline: name,
    ref: name,
    commit: sha,
    oldCommit: sha.nullable(),
    trigger: buildsetTriggerSchema,
    /** null: every job runs (timer, manual); otherwise the files the change touched. */
    changedFiles: z.array(z.string()).nullable(),
    layoutVersion: z.string(),
    precedence: z.enum(['high', 'normal', 'low']),
    /**
     * The pipeline's semaphores, frozen at creation: held under the buildset's
     * id from its start (before checkout) until it is done. Absent in records
     * written before pipelines had semaphores.
     */
    semaphores: z.array(name).default([]),
    createdAt: epochMs,
    startedAt: epochMs.nullable(),
    endedAt: epochMs.nullable(),
    state: z.enum(BUILDSET_STATES),
    result: z.enum(BUILDSET_RESULTS).nullable(),
    message: z.string().nullable(),
    graph: frozenBuildsetGraphSchema,
    checkout: stepProgressSchema,
    /** One entry per graph job, in the same order. */
    jobs: z.array(jobProgressSchema),
  })
  .superRefine((b, ctx) => {
    const frozen = b.graph.jobs.map((j) => j.name).join('\n');
    if (frozen !== b.jobs.map((j) => j.name).join('\n'))
      ctx.addIssue({ code: 'custom', path: ['jobs'], message: 'jobs must match graph.jobs' });
    if ((b.state === 'done') !== (b.result !== null))
      ctx.addIssue({
        code: 'custom',
        path: ['result'],
        message: 'result is set exactly when done',
      });
  });
export type Buildset = z.infer<typeof buildsetSchema>;

/** The queue of one pipeline: buildset ids in order, oldest (or promoted) first. */
export const pipelineStateSchema = z.object({
  pipeline: name,
  queue: z.array(name).refine((ids) => new Set(ids).size === ids.length, 'ids must be unique'),
});
export type PipelineState = z.infer<typeof pipelineStateSchema>;

export const buildsetCodec = jsonCodec((v) => buildsetSchema.parse(v));
export const pipelineStateCodec = jsonCodec((v) => pipelineStateSchema.parse(v));
