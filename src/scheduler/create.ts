/**
 * Creating a buildset: freeze the pipeline's jobs for one commit and copy
 * what each selected job runs into the record. User configuration never
 * throws here: a graph that cannot run becomes a buildset that is done at
 * once with result ERROR, so the operator sees why in the status.
 */
import type { ResolvedJob } from '../config/index.js';
import { DrawbridgeError } from '../errors.js';
import { freezeGraph } from '../graph/index.js';
import type { FrozenGraph, Selection } from '../graph/index.js';
import type {
  Buildset,
  BuildsetTrigger,
  FrozenJobRecord,
  JobProgress,
  SelectionNote,
  StepProgress,
} from '../model/buildset.js';

export interface CreateBuildsetInput {
  readonly id: string;
  readonly pipeline: string;
  readonly ref: string;
  readonly commit: string;
  readonly oldCommit: string | null;
  readonly trigger: BuildsetTrigger;
  /** null: every job (timer, manual); otherwise the files the change touched. */
  readonly changedFiles: readonly string[] | null;
  readonly layoutVersion: string;
  readonly precedence: 'high' | 'normal' | 'low';
  /** The pipeline's own semaphores, held by the buildset from start to end. */
  readonly semaphores?: readonly string[];
  /** The pipeline's jobs from the layout, in listing order. */
  readonly jobs: readonly ResolvedJob[];
  readonly now: number;
}

export type CreateResult =
  | { readonly kind: 'created'; readonly buildset: Buildset }
  /** The change selects no job; the caller logs the notes and creates nothing. */
  | { readonly kind: 'nothing-to-do'; readonly selection: readonly SelectionNote[] };

export function createBuildset(input: CreateBuildsetInput): CreateResult {
  const selection: Selection =
    input.changedFiles === null ? { kind: 'all' } : { kind: 'files', files: input.changedFiles };
  let graph: FrozenGraph;
  try {
    graph = freezeGraph(input.jobs, selection);
  } catch (e) {
    // A bad file pattern or a loader bug: still a buildset, ended at once.
    if (!(e instanceof DrawbridgeError)) throw e;
    return { kind: 'created', buildset: failed(base(input, [], [], [e.message]), input.now) };
  }
  const notes = graph.selection.map(({ job, selected, message }) => ({ job, selected, message }));
  if (graph.jobs.length === 0) return { kind: 'nothing-to-do', selection: notes };
  const byName = new Map(input.jobs.map((j) => [j.name, j]));
  const jobs = graph.jobs.map((f) => frozenRecord(f, byName.get(f.name)));
  const errors = graph.errors.map((e) => e.message);
  const created = base(input, jobs, notes, errors);
  return { kind: 'created', buildset: errors.length > 0 ? failed(created, input.now) : created };
}

function frozenRecord(
  frozen: FrozenGraph['jobs'][number],
  job: ResolvedJob | undefined,
): FrozenJobRecord {
  return {
    name: frozen.name,
    dependencies: [...frozen.dependencies],
    droppedSoftDependencies: [...frozen.droppedSoftDependencies],
    playbook: job?.playbook ?? '',
    // A deep copy: the record must not share objects with the live layout.
    vars: structuredClone({ ...(job?.vars ?? {}) }),
    semaphores: [...(job?.semaphores ?? [])],
    timeoutMs: job?.timeoutMs ?? null,
    attempts: job?.attempts ?? 1,
  };
}

function base(
  input: CreateBuildsetInput,
  jobs: FrozenJobRecord[],
  selection: SelectionNote[],
  errors: string[],
): Buildset {
  return {
    id: input.id,
    pipeline: input.pipeline,
    ref: input.ref,
    commit: input.commit,
    oldCommit: input.oldCommit,
    trigger: { ...input.trigger },
    changedFiles: input.changedFiles === null ? null : [...input.changedFiles],
    layoutVersion: input.layoutVersion,
    precedence: input.precedence,
    semaphores: [...(input.semaphores ?? [])],
    createdAt: input.now,
    startedAt: null,
    endedAt: null,
    state: 'queued',
    result: null,
    message: null,
    graph: { jobs, selection, errors },
    checkout: newStep(),
    jobs: jobs.map((j) => ({ ...newStep(), name: j.name, heldSemaphores: [] })),
  };
}

export function newStep(): StepProgress {
  return {
    state: 'WAITING',
    attempt: 0,
    requestBase: null,
    requestId: null,
    reason: null,
    queuedAt: null,
    startedAt: null,
    endedAt: null,
    lastOutcome: null,
  };
}

/** Ends a buildset whose graph cannot run: every step skipped with the errors. */
function failed(bs: Buildset, now: number): Buildset {
  const message = `configuration error: ${bs.graph.errors.join('; ')}`;
  const skip = <T extends StepProgress>(s: T): T => ({
    ...s,
    state: 'SKIPPED',
    reason: `skipped: ${message}`,
    endedAt: now,
  });
  const jobs: JobProgress[] = bs.jobs.map(skip);
  return {
    ...bs,
    state: 'done',
    result: 'ERROR',
    message,
    endedAt: now,
    checkout: skip(bs.checkout),
    jobs,
  };
}
