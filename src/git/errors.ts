import { DrawbridgeError } from '../errors.js';

export class GitRangeError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_GIT_BAD_RANGE';
  constructor(
    readonly range: string,
    readonly reason: string,
  ) {
    super(`bad git range "${range}": ${reason} (expected OLD..NEW, e.g. HEAD~1..HEAD)`);
  }
}

export class GitCommandError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_GIT_COMMAND';
  constructor(
    readonly args: readonly string[],
    readonly repo: string,
    readonly exitCode: number | undefined,
    readonly stderr: string,
  ) {
    super(
      `git ${args.join(' ')} failed in ${repo}` +
        (exitCode === undefined ? '' : ` (exit ${exitCode})`) +
        (stderr.trim() ? `: ${stderr.trim().split('\n').slice(-3).join(' / ')}` : ''),
    );
  }
}
