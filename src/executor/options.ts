/**
 * Executor options: validated once here, then handed around frozen with
 * defaults filled in and times in milliseconds.
 */
import { isAbsolute } from 'node:path';
import { z } from 'zod';
import {
  JOB_CPU_POLICIES,
  type BastionConnectionOptions,
  type CommitSource,
  type JobCpuPolicy,
} from '../bastion/index.js';
import { ExecutorConfigError } from './errors.js';

export interface ExecutorOptions {
  /** Concurrent builds; each holds one SSH channel while it runs. */
  readonly slots: number;
  /** Reported in the component record. */
  readonly version: string;
  readonly bastion: BastionConnectionOptions;
  /** Absolute directory on the bastion for the mirror and the workspaces. */
  readonly workspaceRoot: string;
  /** Where the bastion gets pinned commits from. */
  readonly source: CommitSource;
  /** Absolute local directory for build logs. */
  readonly logRoot: string;
  /** Live log server address; loopback by default, port 0 picks one. */
  readonly logStream?: { readonly host?: string; readonly port?: number };
  /** Workspaces the bastion keeps (0 keeps all). Default 20. */
  readonly keepWorkspaces?: number;
  /** TERM → KILL grace when a build is killed. Default 5000 ms. */
  readonly killGraceMs?: number;
  /** The ansible-playbook command on the bastion. */
  readonly ansiblePlaybook?: string;
  /** Nice value (0-19) of every playbook's process group on the bastion; 0 disables. Default 10. */
  readonly jobNice?: number;
  /** CPU scheduling policy of every playbook on the bastion. Default 'batch' (SCHED_BATCH). */
  readonly jobCpuPolicy?: JobCpuPolicy;
  /** The Python 3 interpreter on the bastion that runs the job runner. Default `python3`. */
  readonly runnerPython?: string;
  /** Safety net: look for claimable requests this often even without a watch event. Default 5000 ms. */
  readonly rescanIntervalMs?: number;
  /** Finished builds whose log the live server still serves. Default 200. */
  readonly recentLogs?: number;
}

export interface ResolvedExecutorOptions {
  readonly slots: number;
  readonly version: string;
  readonly bastion: BastionConnectionOptions;
  readonly workspaceRoot: string;
  readonly source: CommitSource;
  readonly logRoot: string;
  readonly logStream: { readonly host: string; readonly port: number };
  readonly keepWorkspaces: number;
  readonly killGraceMs: number;
  readonly ansiblePlaybook: string | undefined;
  readonly jobNice: number;
  readonly jobCpuPolicy: JobCpuPolicy;
  readonly runnerPython: string;
  readonly rescanIntervalMs: number;
  readonly recentLogs: number;
}

const int = (min: number, max: number) => z.number().int().min(min).max(max);

const schema = z.object({
  slots: int(1, 1000),
  version: z.string().min(1),
  bastion: z.custom<BastionConnectionOptions>((v) => typeof v === 'object' && v !== null),
  workspaceRoot: z.string().startsWith('/'),
  source: z.union([
    z.object({ kind: z.literal('fetch'), url: z.string().min(1) }),
    z.object({ kind: z.literal('push'), localRepo: z.string().min(1) }),
  ]),
  logRoot: z.string().refine(isAbsolute, 'an absolute path'),
  logStream: z
    .object({ host: z.string().min(1).default('127.0.0.1'), port: int(0, 65535).default(0) })
    .default({ host: '127.0.0.1', port: 0 }),
  keepWorkspaces: int(0, 100_000).default(20),
  killGraceMs: int(0, 600_000).default(5_000),
  ansiblePlaybook: z.string().min(1).optional(),
  jobNice: int(0, 19).default(10),
  jobCpuPolicy: z.enum(JOB_CPU_POLICIES).default('batch'),
  runnerPython: z
    .string()
    .regex(/^[A-Za-z0-9_./+-]+$/, 'a command name or path')
    .default('python3'),
  rescanIntervalMs: int(100, 3_600_000).default(5_000),
  recentLogs: int(0, 100_000).default(200),
});

export function resolveExecutorOptions(options: ExecutorOptions): ResolvedExecutorOptions {
  const parsed = schema.safeParse(options);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const key = issue?.path.join('.') || '(options)';
    throw new ExecutorConfigError(key, issue?.message ?? 'valid executor options');
  }
  const o = parsed.data;
  return Object.freeze({
    ...o,
    logStream: Object.freeze({ ...o.logStream }),
    ansiblePlaybook: o.ansiblePlaybook,
  });
}
