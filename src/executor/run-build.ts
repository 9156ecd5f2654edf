/**
 * Runs one claimed build on the bastion and says how it ended. Never throws:
 * every failure becomes a BuildOutcome (see ./outcome.ts). The build's own
 * output, and a few lines of Drawbridge's, go to its log file.
 */
import { createHash } from 'node:crypto';
import type { Logger } from 'pino';
import {
  BastionPlaybookMissingError,
  type AnsibleRunner,
  type CommitSource,
  type Workspaces,
} from '../bastion/index.js';
import { toError } from '../errors.js';
import type { BuildOutcome, BuildRequest } from '../model/index.js';
import { BuildLog, buildLogPath } from './build-log.js';
import { ExecutorPlaybookMissingError } from './errors.js';
import { errorOutcome, playbookOutcome } from './outcome.js';

export interface BuildContext {
  readonly request: BuildRequest;
  readonly signal: AbortSignal;
  readonly logger: Logger;
  /** The build's log, being opened (see `openLog`); a rejection ends the build ERROR. */
  readonly log: Promise<BuildLog>;
}

export interface BuildRunnerDeps {
  readonly workspaces: Workspaces;
  readonly runner: AnsibleRunner;
  readonly source: CommitSource;
  readonly logRoot: string;
  readonly executorId: () => string;
}

export class BuildRunner {
  /** Log directories (one per buildset) known to exist. */
  readonly #logDirs = new Set<string>();

  constructor(private readonly deps: BuildRunnerDeps) {}

  /** Opens the build's log file; rejects with ExecutorLogNameError for names unfit for a path. */
  async openLog(request: BuildRequest): Promise<BuildLog> {
    const { buildsetId, job, attempt } = request;
    return BuildLog.open(buildLogPath(this.deps.logRoot, buildsetId, job, attempt), this.#logDirs);
  }

  async run(ctx: BuildContext): Promise<BuildOutcome> {
    const { request, signal } = ctx;
    let log: BuildLog | undefined;
    let startedAt: number | null = null;
    try {
      log = await ctx.log;
      log.line(
        `drawbridge: ${request.kind} ${request.job} attempt ${request.attempt} of buildset ${request.buildsetId} at ${request.commit} on executor ${this.deps.executorId()}`,
      );
      let outcome: BuildOutcome;
      if (request.kind === 'checkout') {
        startedAt = Date.now();
        outcome = await this.#checkout(request, signal, log, startedAt);
      } else {
        outcome = await this.#job(request, signal, log);
      }
      log.line(`drawbridge: ${outcome.result}: ${outcome.reason}`);
      return outcome;
    } catch (e) {
      const err = toError(e);
      const outcome = errorOutcome(err, signal.reason, {
        startedAt,
        endedAt: Date.now(),
        logPath: log?.path ?? null,
      });
      log?.line(`drawbridge: ${outcome.result}: ${outcome.reason}`);
      ctx.logger.debug({ err }, 'build ended with an error');
      return outcome;
    } finally {
      await log?.end();
      if (log?.error) ctx.logger.warn({ err: log.error }, 'build log incomplete');
    }
  }

  async #checkout(
    request: BuildRequest,
    signal: AbortSignal,
    log: BuildLog,
    startedAt: number,
  ): Promise<BuildOutcome> {
    const result = await this.#ensureWorkspace(request, signal);
    const reason = result.created
      ? `workspace ${result.path} created at ${result.sha}`
      : `workspace ${result.path} already at ${result.sha}`;
    log.line(`drawbridge: ${reason}`);
    return {
      result: 'SUCCESS',
      retryable: false,
      reason,
      startedAt,
      endedAt: Date.now(),
      exitCode: 0,
      logPath: log.path,
    };
  }

  async #job(request: BuildRequest, signal: AbortSignal, log: BuildLog): Promise<BuildOutcome> {
    // Verifies the workspace (a cheap no-op after the buildset's checkout step).
    await this.#ensureWorkspace(request, signal);
    log.line(`drawbridge: running ${request.playbook}`);
    try {
      const run = await this.deps.runner.run({
        buildset: request.buildsetId,
        sha: request.commit,
        build: bastionBuildId(request.id),
        job: request.job,
        playbook: request.playbook,
        vars: request.vars,
        ...(request.timeoutMs === null ? {} : { timeoutMs: request.timeoutMs }),
        signal,
        onLine: (line) => log.line(line),
      });
      return playbookOutcome(run, signal.reason, log.path, request.timeoutMs);
    } catch (e) {
      // The runner checks for the playbook as it starts it: a missing one is the job's mistake, not a failed run.
      if (e instanceof BastionPlaybookMissingError)
        throw new ExecutorPlaybookMissingError(
          request.buildsetId,
          request.commit,
          request.playbook,
        );
      throw e;
    }
  }

  #ensureWorkspace(request: BuildRequest, signal: AbortSignal) {
    return this.deps.workspaces.checkout(
      request.buildsetId,
      request.commit,
      this.deps.source,
      signal,
    );
  }
}

/**
 * Request ids may hold characters the bastion does not take in file names;
 * a readable prefix plus a hash keeps the id unique and valid.
 */
export function bastionBuildId(requestId: string): string {
  const readable = requestId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 80);
  const hash = createHash('sha256').update(requestId).digest('hex').slice(0, 8);
  return `b-${readable}-${hash}`;
}
