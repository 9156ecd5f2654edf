import type { Logger } from 'pino';
import { toError } from '../errors.js';
import type { Workspaces } from './checkout.js';
import type { BastionConnection } from './connection.js';
import {
  BastionCommandError,
  BastionConfigError,
  BastionPlaybookMissingError,
  BastionTimeoutError,
  BastionUploadError,
  BastionWorkspaceError,
  SshConnectionLostError,
} from './errors.js';
import { LineSplitter } from './lines.js';
import { JOB_CPU_POLICIES, type JobCpuPolicy } from './options.js';
import {
  validateEnvName,
  validateId,
  validateJobName,
  validateRepoPath,
  validateSha,
} from './quote.js';
import { BastionRunner, type RunnerResult } from './runner.js';

export type PlaybookResult = 'SUCCESS' | 'FAILURE' | 'TIMED_OUT' | 'CANCELED';
export type OutputStream = 'stdout' | 'stderr';

export interface PlaybookRun {
  buildset: string;
  /** The pinned commit; the workspace is checked against it before the playbook starts. */
  sha: string;
  /** Unique id of this build (attempt); names the vars and pid files. */
  build: string;
  job: string;
  /** Playbook path relative to the repository root. */
  playbook: string;
  /** Inventory path relative to the repository root, default `inventory`. */
  inventory?: string;
  /** Job vars: written to a file on the bastion (mode 0600), passed as `-e @file`. */
  vars?: Record<string, unknown>;
  /**
   * Playbook time limit, counted from when its run request is sent to the job
   * runner: a job stuck waiting there for its workspace lock times out too.
   * Not counted: waiting for a job runner to start (bounded on its own).
   */
  timeoutMs?: number;
  /** Cancels the build: the remote process group is killed. */
  signal?: AbortSignal;
  /** Every output line, as it comes; for the build log. */
  onLine?: (line: string, stream: OutputStream) => void;
}

export interface PlaybookOutcome {
  result: PlaybookResult;
  exitCode: number | null;
  /** The playbook's process group on the bastion (for the log); null if it never started. */
  pgid: number | null;
  /** Epoch ms when the playbook's process group started; null if it never did. */
  startedAt: number | null;
  endedAt: number;
}

export interface AnsibleRunnerOptions {
  /** Command on the bastion, default `ansible-playbook`. */
  ansiblePlaybook?: string;
  /** Extra environment for every playbook. */
  env?: Record<string, string>;
  /** Grace between TERM and KILL on timeout or cancel, default 5000 ms. */
  killGraceMs?: number;
  /**
   * Nice value (0-19) for each playbook's process group, default 0 (as the runner's).
   * Keeps a saturated bastion responsive to starts, log streaming and kills.
   */
  jobNice?: number;
  /**
   * CPU scheduling policy of each playbook, default 'normal' (as the runner's).
   * 'batch' (SCHED_BATCH) keeps a playbook's wake-ups from preempting the
   * processes beside it, which ansible-playbook's millisecond polling makes costly.
   */
  jobCpuPolicy?: JobCpuPolicy;
  /** The Python 3 interpreter that runs the job runner on the bastion, default `python3`. */
  python?: string;
  logger?: Logger;
}

// Plain, unbuffered, uncoloured output so that lines reach the log as they happen.
const BASE_ENV: Record<string, string> = {
  ANSIBLE_NOCOLOR: '1',
  ANSIBLE_FORCE_COLOR: '0',
  ANSIBLE_RETRY_FILES_ENABLED: '0',
  PYTHONUNBUFFERED: '1',
};

/**
 * Runs a job's playbook from its buildset's workspace. Resolves with the
 * outcome of a playbook that ran (or was cancelled/timed out); rejects with a
 * BastionError when the bastion could not run it, `retryable` telling whether
 * it may be tried again.
 */
export class AnsibleRunner {
  readonly #command: string;
  readonly #env: Record<string, string>;
  readonly #graceMs: number;
  readonly #nice: number;
  readonly #batch: boolean;
  readonly #runner: BastionRunner;

  constructor(
    conn: BastionConnection,
    private readonly workspaces: Workspaces,
    options: AnsibleRunnerOptions = {},
  ) {
    this.#command = options.ansiblePlaybook ?? 'ansible-playbook';
    for (const name of Object.keys(options.env ?? {})) validateEnvName(name);
    this.#env = { ...BASE_ENV, ...options.env };
    this.#graceMs = options.killGraceMs ?? 5_000;
    const nice = options.jobNice ?? 0;
    if (!Number.isInteger(nice) || nice < 0 || nice > 19)
      throw new BastionConfigError('jobNice', `an integer from 0 to 19, got ${nice}`);
    this.#nice = nice;
    const cpuPolicy = options.jobCpuPolicy ?? 'normal';
    if (!JOB_CPU_POLICIES.includes(cpuPolicy))
      throw new BastionConfigError(
        'jobCpuPolicy',
        `one of ${JOB_CPU_POLICIES.join(', ')}, got ${JSON.stringify(cpuPolicy)}`,
      );
    this.#batch = cpuPolicy === 'batch';
    const python = options.python ?? 'python3';
    if (!/^[A-Za-z0-9_./+-]+$/.test(python))
      throw new BastionConfigError(
        'python',
        `a command name or path, got ${JSON.stringify(python)}`,
      );
    this.#runner = BastionRunner.for(conn, {
      python,
      ...(options.logger ? { logger: options.logger } : {}),
    });
  }

  /** The job runner this playbook runner uses (one per connection and interpreter). */
  get runner(): BastionRunner {
    return this.#runner;
  }

  async run(spec: PlaybookRun): Promise<PlaybookOutcome> {
    const { buildset, sha, build, job } = spec;
    validateId('buildset id', buildset);
    validateSha(sha);
    validateId('build id', build);
    validateJobName(job);
    const playbook = validateRepoPath('playbook', spec.playbook);
    const inventory = validateRepoPath('inventory', spec.inventory ?? 'inventory');
    const varsPath = `${this.workspaces.varsDir}/${build}.json`;
    const cwd = this.workspaces.workspacePath(buildset);

    const abort = new AbortController();
    const relay = (): void => abort.abort(spec.signal?.reason);
    spec.signal?.addEventListener('abort', relay, { once: true });
    if (spec.signal?.aborted) relay();
    let timer: NodeJS.Timeout | undefined;
    let startedAt: number | null = null;
    try {
      abort.signal.throwIfAborted();
      const stdout = new LineSplitter((line) => emit(spec, line, 'stdout'));
      const stderr = new LineSplitter((line) => emit(spec, line, 'stderr'));
      const result = await this.#runner.run({
        name: build,
        runDir: this.workspaces.runDir,
        argv: [this.#command, '-i', inventory, '-e', `@${varsPath}`, playbook],
        env: {
          ...this.#env,
          DRAWBRIDGE_BUILDSET: buildset,
          DRAWBRIDGE_JOB: job,
          DRAWBRIDGE_BUILD: build,
        },
        cwd,
        workspace: {
          buildset,
          lock: `${this.workspaces.root}/.locks/${buildset}.lock`,
          sha,
          playbook,
        },
        vars: { path: varsPath, content: JSON.stringify(spec.vars ?? {}) },
        nice: this.#nice,
        batch: this.#batch,
        killGraceMs: this.#graceMs,
        signal: abort.signal,
        onStdout: (c) => stdout.push(c),
        onStderr: (c) => stderr.push(c),
        onSent: () => {
          if (spec.timeoutMs !== undefined) {
            const limit = spec.timeoutMs;
            timer = setTimeout(() => abort.abort(new BastionTimeoutError(limit)), limit);
          }
        },
        onStart: () => {
          startedAt = Date.now();
        },
      });
      stdout.end();
      stderr.end();
      return this.#outcome(spec, result, startedAt, abort.signal);
    } catch (e) {
      // Cancelled while waiting for the runner: the playbook never ran. Unless it may
      // have (the runner was lost after the request went out): that must not pass as ended.
      const mayRun = e instanceof SshConnectionLostError && e.started && !e.groupKilled;
      if (abort.signal.aborted && startedAt === null && !mayRun)
        return outcomeOf(abort.signal, null, null, null);
      // Timed out or cancelled, and its group is gone though the runner died meanwhile:
      // it ends as what was asked of it, not as a lost runner to retry.
      if (abort.signal.aborted && e instanceof SshConnectionLostError && e.groupKilled)
        return outcomeOf(abort.signal, null, null, startedAt);
      throw toError(e);
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', relay);
    }
  }

  #outcome(
    spec: PlaybookRun,
    r: RunnerResult,
    startedAt: number | null,
    signal: AbortSignal,
  ): PlaybookOutcome {
    if (r.kind === 'exited') {
      if (r.aborted) return outcomeOf(signal, r.exitCode, r.pgid, startedAt);
      const result = r.exitCode === 0 ? 'SUCCESS' : 'FAILURE';
      return { result, exitCode: r.exitCode, pgid: r.pgid, startedAt, endedAt: Date.now() };
    }
    if (r.aborted || r.reason === 'canceled') return outcomeOf(signal, null, null, null);
    switch (r.reason) {
      case 'no-workspace':
      case 'wrong-commit':
        throw new BastionWorkspaceError(spec.buildset, spec.sha, r.message);
      case 'playbook-missing':
        throw new BastionPlaybookMissingError(spec.buildset, spec.sha, spec.playbook);
      case 'vars':
        throw new BastionUploadError(
          `${this.workspaces.varsDir}/${spec.build}.json`,
          new Error(r.message),
        );
      case 'spawn':
        // As a shell reports a command it cannot run: the job fails, visibly, in its log.
        emit(spec, `drawbridge-runner: ${r.message}`, 'stderr');
        return { result: 'FAILURE', exitCode: 127, pgid: null, startedAt, endedAt: Date.now() };
      default:
        throw new BastionCommandError('the job runner', null, r.message);
    }
  }
}

function outcomeOf(
  signal: AbortSignal,
  exitCode: number | null,
  pgid: number | null,
  startedAt: number | null,
): PlaybookOutcome {
  const result = signal.reason instanceof BastionTimeoutError ? 'TIMED_OUT' : 'CANCELED';
  return { result, exitCode, pgid, startedAt, endedAt: Date.now() };
}

function emit(spec: PlaybookRun, line: string, stream: OutputStream): void {
  try {
    spec.onLine?.(line, stream);
  } catch {
    // the log writer's trouble must not kill the build
  }
}
