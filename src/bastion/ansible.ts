import type { SFTPWrapper } from 'ssh2';
import { toError } from '../errors.js';
import type { Workspaces } from './checkout.js';
import type { BastionConnection } from './connection.js';
import { BastionTimeoutError, BastionUploadError, BastionWorkspaceError } from './errors.js';
import { execInGroup, type GroupExecResult } from './exec.js';
import { LineSplitter } from './lines.js';
import {
  validateEnvName,
  validateId,
  validateJobName,
  validateRepoPath,
  validateSha,
} from './quote.js';
import { RUN_NO_WORKSPACE, RUN_SCRIPT, RUN_WRONG_COMMIT } from './scripts.js';

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
  /** Playbook time limit, counted from its start (not from waiting for a channel). */
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

  constructor(
    private readonly conn: BastionConnection,
    private readonly workspaces: Workspaces,
    options: AnsibleRunnerOptions = {},
  ) {
    this.#command = options.ansiblePlaybook ?? 'ansible-playbook';
    for (const name of Object.keys(options.env ?? {})) validateEnvName(name);
    this.#env = { ...BASE_ENV, ...options.env };
    this.#graceMs = options.killGraceMs ?? 5_000;
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

    const abort = new AbortController();
    const relay = (): void => abort.abort(spec.signal?.reason);
    spec.signal?.addEventListener('abort', relay, { once: true });
    if (spec.signal?.aborted) relay();
    let timer: NodeJS.Timeout | undefined;
    let startedAt: number | null = null;
    let finished = false;
    try {
      await this.#writeVars(varsPath, spec.vars ?? {}, abort.signal);
      const argv = this.#argv(spec, inventory, playbook, varsPath);
      const stdout = new LineSplitter((line) => emit(spec, line, 'stdout'));
      const stderrLines: string[] = [];
      const stderr = new LineSplitter((line) => {
        if (stderrLines.length < 20) stderrLines.push(line);
        emit(spec, line, 'stderr');
      });
      const result = await execInGroup(this.conn, argv, {
        runDir: this.workspaces.runDir,
        id: build,
        signal: abort.signal,
        killGraceMs: this.#graceMs,
        onStdout: (c) => stdout.push(c),
        onStderr: (c) => stderr.push(c),
        onStart: () => {
          startedAt = Date.now();
          if (spec.timeoutMs !== undefined) {
            const limit = spec.timeoutMs;
            timer = setTimeout(() => abort.abort(new BastionTimeoutError(limit)), limit);
          }
        },
      });
      stdout.end();
      stderr.end();
      finished = !result.aborted;
      return this.#outcome(spec, result, startedAt, stderrLines, abort.signal);
    } catch (e) {
      // Cancelled while waiting for a channel: the playbook never ran.
      if (abort.signal.aborted && startedAt === null)
        return outcomeOf(abort.signal, null, null, null);
      throw toError(e);
    } finally {
      clearTimeout(timer);
      spec.signal?.removeEventListener('abort', relay);
      // The run script removes the vars file itself unless it was interrupted.
      if (!finished) await this.#removeVars(varsPath);
    }
  }

  /** The run script, its `VAR=value ... --` to export, then `ansible-playbook ...`: every element is quoted by execInGroup. */
  #argv(spec: PlaybookRun, inventory: string, playbook: string, varsPath: string): string[] {
    const env = Object.entries({
      ...this.#env,
      DRAWBRIDGE_BUILDSET: spec.buildset,
      DRAWBRIDGE_JOB: spec.job,
      DRAWBRIDGE_BUILD: spec.build,
    });
    const { root } = this.workspaces;
    return [
      ...['sh', '-c', RUN_SCRIPT, 'drawbridge-run', root, spec.buildset, spec.sha, varsPath],
      ...env.map(([k, v]) => `${k}=${v}`),
      '--',
      ...[this.#command, '-i', inventory, '-e', `@${varsPath}`, playbook],
    ];
  }

  #outcome(
    spec: PlaybookRun,
    r: GroupExecResult,
    startedAt: number | null,
    stderr: readonly string[],
    signal: AbortSignal,
  ): PlaybookOutcome {
    if (r.aborted) return outcomeOf(signal, r.exitCode, r.pgid, startedAt);
    const marker = stderr.find((l) => l.startsWith('drawbridge-run: '));
    if ((r.exitCode === RUN_NO_WORKSPACE || r.exitCode === RUN_WRONG_COMMIT) && marker) {
      throw new BastionWorkspaceError(
        spec.buildset,
        spec.sha,
        marker.slice('drawbridge-run: '.length),
      );
    }
    const result = r.exitCode === 0 ? 'SUCCESS' : 'FAILURE';
    return { result, exitCode: r.exitCode, pgid: r.pgid, startedAt, endedAt: Date.now() };
  }

  async #writeVars(
    path: string,
    vars: Record<string, unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    signal.throwIfAborted();
    let sftp: SFTPWrapper;
    try {
      sftp = await this.conn.sftp();
    } catch (e) {
      throw new BastionUploadError(path, toError(e));
    }
    await new Promise<void>((resolve, reject) => {
      sftp.writeFile(path, JSON.stringify(vars), { mode: 0o600 }, (err) =>
        err ? reject(new BastionUploadError(path, toError(err))) : resolve(),
      );
    });
  }

  async #removeVars(path: string): Promise<void> {
    // Waiting for a lost connection to return would only delay the build's end.
    if (this.conn.state !== 'ready') return;
    try {
      const sftp = await this.conn.sftp();
      await new Promise<void>((resolve) => sftp.unlink(path, () => resolve()));
    } catch {
      // Best effort: the connection may be gone; the file is 0600 under .vars.
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
