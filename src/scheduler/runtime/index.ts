/** The scheduler component: the imperative shell over the core in ../ and ZooKeeper. */
export { Scheduler, type SchedulerDeps, type SchedulerState } from './scheduler.js';
export {
  resolveSchedulerOptions,
  type ResolvedSchedulerOptions,
  type SchedulerOptions,
  type SchedulerRepositoryOptions,
  type SchedulerTriggerOptions,
} from './options.js';
export { SchedulerTriggers, type SchedulerTriggersState } from './triggers.js';
export { pipelinesFor } from './routing.js';
export { pipelineOrder } from './order.js';
export { readStatus } from './status-writer.js';
export { buildsetIdFor, checkoutRequestId, jobRequestId } from './ids.js';
export { SchedulerConfigError, SchedulerLockLostError } from '../runtime-errors.js';
