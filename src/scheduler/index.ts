/**
 * The scheduler's pure core: buildset creation, the buildset machine,
 * dispatch, the pipeline queue and the status summary. No I/O, no clock:
 * the shell passes `now` in and performs the returned actions.
 */
export { CHECKOUT_ATTEMPTS, CHECKOUT_JOB, attemptRequestId, buildsetHolder } from './actions.js';
export type { BuildsetAction, Transition } from './actions.js';
export { applyInput, applyInputs } from './buildset-machine.js';
export type { BuildsetInput } from './buildset-machine.js';
export { createBuildset } from './create.js';
export type { CreateBuildsetInput, CreateResult } from './create.js';
export { dispatchable, markAllDispatched, markDispatched, reconcile } from './dispatch.js';
export type { DispatchCandidate } from './dispatch.js';
export { MissingBuildsetError, NotDispatchableError, WrongBuildsetError } from './errors.js';
export { isRetryable, jobStateFor } from './job-outcome.js';
export {
  dequeue,
  emptyPipelineState,
  enqueue,
  promote,
  removeDone,
  startable,
} from './pipeline-queue.js';
export type { BuildsetLookup, QueueChange } from './pipeline-queue.js';
export { countStates, pipelineStatus } from './status.js';
export type {
  BuildsetStatus,
  JobStatus,
  PipelineStatus,
  ProgressCounts,
  StatusInput,
  StepStatus,
} from './status.js';
