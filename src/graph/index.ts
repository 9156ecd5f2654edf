/** The job graph: pure functions over the jobs of one pipeline. No I/O, no clock. */
export { compilePattern, matchesPath } from './pattern.js';
export { findCycle } from './cycle.js';
export { freezeGraph } from './freeze.js';
export type { FrozenGraph, FrozenJob } from './freeze.js';
export type { SelectionReason, SelectionRecord } from './select.js';
export { jobsToSkip, readyJobs } from './progress.js';
export type { SkipDecision } from './progress.js';
export { criticalPath, durationsFromSeconds, topologicalLevels } from './schedule.js';
export type { CriticalPath } from './schedule.js';
export { isBlocking, isSuccess, isTerminal, skipReason } from './state.js';
export type { BlockingState } from './state.js';
export {
  DuplicateJobError,
  GraphCycleError,
  HardDependencyError,
  InvalidDurationError,
  InvalidPatternError,
} from './errors.js';
export type { FreezeError, MissingDependencyCause } from './errors.js';
export type { GraphJob, JobDependency, JobState, Selection } from './types.js';
export { JOB_STATES } from './types.js';
