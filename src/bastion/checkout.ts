import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { toError } from '../errors.js';
import type { BastionConnection } from './connection.js';
import { BastionCheckoutError, BastionCommandError } from './errors.js';
import { execInGroup, type GroupExecResult } from './exec.js';
import {
  validateGitUrl,
  validateId,
  validateRef,
  validateRemoteDir,
  validateSha,
} from './quote.js';
import { CHECKOUT_SCRIPT, PRUNE_SCRIPT } from './scripts.js';

const run = promisify(execFile);

/** Exit status of CHECKOUT_SCRIPT in push mode when the mirror lacks the commit. */
const NEED_OBJECTS = 75;
const MEMO_LIMIT = 512;

/**
 * Where the pinned commit comes from: the bastion fetches it from a URL it can
 * reach, or the executor pushes it (a git bundle of a local repository sent
 * over the channel's stdin) when the bastion cannot reach the git server.
 */
export type CommitSource = { kind: 'fetch'; url: string } | { kind: 'push'; localRepo: string };

export interface WorkspacesOptions {
  /** Absolute directory on the bastion holding mirror.git, the workspaces and run files. */
  root: string;
  /** Retention: keep this many newest workspaces, 0 to keep all. Default 20. */
  keepWorkspaces?: number;
  /** Grace between TERM and KILL when a checkout is aborted, default 5000 ms. */
  killGraceMs?: number;
}

export interface CheckoutResult {
  buildset: string;
  sha: string;
  /** The workspace directory on the bastion. */
  path: string;
  /** False when the workspace already existed (another executor or an earlier call made it). */
  created: boolean;
}

/**
 * The checkout step and the workspace layout on the bastion:
 * `<root>/mirror.git`, `<root>/<buildset>` (one per buildset, at the pinned
 * commit), `<root>/.locks`, `<root>/.run` (pid files), `<root>/.vars`.
 */
export class Workspaces {
  readonly root: string;
  readonly #keep: number;
  readonly #graceMs: number;
  readonly #memo = new Map<string, SharedCheckout>();

  constructor(
    private readonly conn: BastionConnection,
    options: WorkspacesOptions,
  ) {
    this.root = validateRemoteDir(options.root);
    this.#keep = options.keepWorkspaces ?? 20;
    this.#graceMs = options.killGraceMs ?? 5_000;
  }

  get runDir(): string {
    return `${this.root}/.run`;
  }

  get varsDir(): string {
    return `${this.root}/.vars`;
  }

  workspacePath(buildset: string): string {
    return `${this.root}/${validateId('buildset id', buildset)}`;
  }

  /**
   * Puts `sha` into the buildset's workspace, verified, exactly once: concurrent
   * calls in this process share one remote call, and the bastion-side lock
   * settles races between executors. A failure is not remembered, so a later
   * call tries again. Each caller's signal aborts only its own wait; the shared
   * call is aborted when every caller waiting on it has given up.
   */
  checkout(
    buildset: string,
    sha: string,
    source: CommitSource,
    signal?: AbortSignal,
  ): Promise<CheckoutResult> {
    let key: string;
    try {
      key = `${validateId('buildset id', buildset)}@${validateSha(sha)}`;
      if (source.kind === 'fetch') validateGitUrl(source.url);
    } catch (e) {
      return Promise.reject(toError(e));
    }
    if (signal?.aborted) return Promise.reject(abortedCheckout(buildset, sha, signal));
    let shared = this.#memo.get(key);
    // A call every caller abandoned is on its way out: start afresh.
    if (!shared || shared.controller.signal.aborted) {
      const controller = new AbortController();
      const promise = this.#checkout(buildset, sha, source, controller.signal);
      shared = { promise, controller, waiters: 0 };
      this.#memo.set(key, shared);
      const entry = shared;
      promise.catch(() => {
        if (this.#memo.get(key) === entry) this.#memo.delete(key);
      });
      if (this.#memo.size > MEMO_LIMIT) this.#memo.delete(this.#memo.keys().next().value ?? key);
    }
    return waitShared(shared, buildset, sha, signal);
  }

  /** Removes all but the `keep` newest workspaces, skipping those in use; returns the removed ids. */
  async prune(keep = this.#keep, signal?: AbortSignal): Promise<string[]> {
    const out: string[] = [];
    const err: string[] = [];
    const argv = ['sh', '-c', PRUNE_SCRIPT, 'drawbridge-prune', this.root, String(keep)];
    const result = await this.#exec(argv, 'prune', signal, undefined, out, err);
    if (result.exitCode !== 0)
      throw new BastionCommandError('workspace pruning', result.exitCode, err.join(''));
    return removedIn(out.join(''));
  }

  async #checkout(
    buildset: string,
    sha: string,
    source: CommitSource,
    signal?: AbortSignal,
  ): Promise<CheckoutResult> {
    const url = source.kind === 'fetch' ? validateGitUrl(source.url) : '';
    // Push mode asks first, so the bundle is only made when the mirror lacks the commit.
    const first = await this.#run(
      buildset,
      sha,
      source.kind === 'fetch' ? 'url' : 'push',
      url,
      signal,
    );
    if (first !== NEED_OBJECTS) return first;
    if (source.kind === 'fetch')
      throw new BastionCheckoutError(buildset, sha, 'unexpected exit status 75');
    const second = await withBundle(source.localRepo, sha, buildset, (bundle, ref) =>
      this.#run(buildset, sha, 'bundle', ref, signal, bundle),
    );
    if (second === NEED_OBJECTS)
      throw new BastionCheckoutError(buildset, sha, 'the bastion asked for objects twice');
    return second;
  }

  async #run(
    buildset: string,
    sha: string,
    mode: 'url' | 'push' | 'bundle',
    src: string,
    signal?: AbortSignal,
    bundle?: string,
  ): Promise<CheckoutResult | typeof NEED_OBJECTS> {
    const out: string[] = [];
    const err: string[] = [];
    const argv = [
      'sh',
      '-c',
      CHECKOUT_SCRIPT,
      'drawbridge-checkout',
      this.root,
      buildset,
      sha,
      mode,
      src,
      String(this.#keep),
    ];
    const stdin = bundle === undefined ? undefined : createReadStream(bundle);
    let result: GroupExecResult;
    try {
      result = await this.#exec(argv, `checkout-${buildset}`, signal, stdin, out, err);
    } finally {
      stdin?.destroy();
    }
    if (result.aborted)
      throw new BastionCheckoutError(buildset, sha, `aborted: ${String(signal?.reason)}`);
    if (mode === 'push' && result.exitCode === NEED_OBJECTS) return NEED_OBJECTS;
    if (result.exitCode !== 0) {
      const reason =
        err
          .join('')
          .match(/drawbridge-checkout: (.*)/g)
          ?.pop() ?? err.join('').trim().slice(-500);
      throw new BastionCheckoutError(
        buildset,
        sha,
        reason.replace('drawbridge-checkout: ', '') || `exit ${result.exitCode}`,
      );
    }
    return {
      buildset,
      sha,
      path: `${this.root}/${buildset}`,
      created: /: created /.test(out.join('')),
    };
  }

  #exec(
    argv: string[],
    what: string,
    signal: AbortSignal | undefined,
    stdin: Readable | undefined,
    out: string[],
    err: string[],
  ): Promise<GroupExecResult> {
    return execInGroup(this.conn, argv, {
      runDir: this.runDir,
      id: `${what}-${randomUUID().slice(0, 8)}`,
      ...(signal ? { signal } : {}),
      ...(stdin ? { stdin } : {}),
      killGraceMs: this.#graceMs,
      onStdout: (c) => out.push(c.toString()),
      onStderr: (c) => err.push(c.toString()),
    });
  }
}

/** Bundles the history of `sha` from a local repository into a temp file, under a temporary ref. */
async function withBundle<T>(
  repo: string,
  sha: string,
  buildset: string,
  use: (file: string, ref: string) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'drawbridge-bundle-'));
  const ref = validateRef(`refs/drawbridge/bundle/${buildset}-${randomUUID().slice(0, 8)}`);
  try {
    await run('git', ['-C', repo, 'update-ref', ref, sha]);
    await run('git', ['-C', repo, 'bundle', 'create', '--quiet', join(dir, 'b.bundle'), ref]);
    return await use(join(dir, 'b.bundle'), ref);
  } finally {
    await run('git', ['-C', repo, 'update-ref', '-d', ref]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

function removedIn(stdout: string): string[] {
  return [...stdout.matchAll(/^drawbridge-prune: removed (\S+)$/gm)].map((m) => m[1] ?? '');
}

interface SharedCheckout {
  readonly promise: Promise<CheckoutResult>;
  readonly controller: AbortController;
  /** Callers still waiting; the last one to abort aborts the remote call. */
  waiters: number;
}

function abortedCheckout(buildset: string, sha: string, signal: AbortSignal): BastionCheckoutError {
  return new BastionCheckoutError(buildset, sha, `aborted: ${String(signal.reason)}`);
}

function waitShared(
  shared: SharedCheckout,
  buildset: string,
  sha: string,
  signal: AbortSignal | undefined,
): Promise<CheckoutResult> {
  shared.waiters += 1;
  return new Promise<CheckoutResult>((resolve, reject) => {
    const leave = (): void => {
      shared.waiters -= 1;
      signal?.removeEventListener('abort', onAbort);
    };
    function onAbort(): void {
      leave();
      if (shared.waiters === 0) shared.controller.abort(signal?.reason);
      reject(abortedCheckout(buildset, sha, signal as AbortSignal));
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    shared.promise.then(
      (value) => {
        if (signal?.aborted) return; // onAbort already answered this caller
        leave();
        resolve(value);
      },
      (e: unknown) => {
        if (signal?.aborted) return;
        leave();
        reject(toError(e));
      },
    );
  });
}
