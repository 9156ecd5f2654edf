export { AnsibleRunner } from './ansible.js';
export type {
  AnsibleRunnerOptions,
  PlaybookResult,
  OutputStream,
  PlaybookOutcome,
  PlaybookRun,
} from './ansible.js';
export { Workspaces } from './checkout.js';
export type { CheckoutResult, CommitSource, WorkspacesOptions } from './checkout.js';
export { BastionConnection } from './connection.js';
export type { ConnectionState, ExitStatus, Lane, RemoteChannel } from './connection.js';
export * from './errors.js';
export { execControl, execInGroup, killGroup } from './exec.js';
export type { ControlResult, GroupExecOptions, GroupExecResult } from './exec.js';
export { fingerprintOf, parseHostKeyPin } from './host-key.js';
export type { HostKeyPin } from './host-key.js';
export { JOB_CPU_POLICIES } from './options.js';
export type { BastionConnectionOptions, JobCpuPolicy } from './options.js';
export { BastionRunner } from './runner.js';
export type {
  BastionRunnerOptions,
  RunnerJob,
  RunnerRefusal,
  RunnerResult,
  RunnerWorkspace,
} from './runner.js';
export {
  shJoin,
  shQuote,
  validateGitUrl,
  validateId,
  validateJobName,
  validateRef,
  validateSha,
} from './quote.js';
