export { Executor, type ExecutorState, type ExecutorDeps, type BuildEndEvent } from './executor.js';
export type { ExecutorOptions, ResolvedExecutorOptions } from './options.js';
export { resolveExecutorOptions } from './options.js';
export { buildLogPath } from './build-log.js';
export * from './errors.js';
