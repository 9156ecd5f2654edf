/** The scheduler component: the imperative shell over the core in ../ and ZooKeeper. */
export { Scheduler, type SchedulerDeps, type SchedulerState } from './scheduler.js';
export {
  resolveSchedulerOptions,
  type ResolvedSchedulerOptions,
  type SchedulerOptions,
} from './options.js';
export { pipelinesFor } from './routing.js';
export { pipelineOrder } from './order.js';
export { readStatus } from './status-writer.js';
export { buildsetIdFor, checkoutRequestId, jobRequestId } from './ids.js';
export { SchedulerConfigError, SchedulerLockLostError } from '../runtime-errors.js';
