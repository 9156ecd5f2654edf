/**
 * Performing what the core asked for, after the new state is stored. Every
 * action is idempotent: requests are created if absent, a cancel on a
 * request nobody claimed deletes it (compare-and-set against a claim in
 * flight), semaphores are released by holder id.
 */
import type { Logger } from 'pino';
import { buildRequestCodec, type BuildRequest } from '../../model/index.js';
import type { ZkClient } from '../../zk/client.js';
import { ZkDocument } from '../../zk/document.js';
import {
  ZkBadVersionError,
  ZkNoNodeError,
  ZkNodeExistsError,
  ZkNotEmptyError,
} from '../../zk/errors.js';
import type { ZkPaths } from '../../zk/paths.js';
import { releaseAll } from '../../zk/semaphore.js';
import type { BuildsetAction } from '../index.js';

const ATTEMPTS = 10;
/** Requests created at once; bounds the burst a 500-job fan-out sends ZooKeeper. */
const CREATE_CONCURRENCY = 32;

export class ActionPerformer {
  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    private readonly log: Logger,
  ) {}

  requestDoc(id: string): ZkDocument<BuildRequest> {
    return new ZkDocument(this.zk, this.paths.buildRequest(id), buildRequestCodec);
  }

  async readRequest(id: string): Promise<BuildRequest | null> {
    return (await this.requestDoc(id).read())?.value ?? null;
  }

  async perform(actions: readonly BuildsetAction[]): Promise<void> {
    // Requests are independent of each other: created side by side, a fan-out
    // of n jobs costs about one round trip instead of n (executors order them
    // by precedence and createdAt, not by creation). The rest stay in order.
    const creates = actions.flatMap((a) =>
      a.type === 'request-checkout' || a.type === 'request-build' ? [a.request] : [],
    );
    for (let i = 0; i < creates.length; i += CREATE_CONCURRENCY)
      await Promise.all(creates.slice(i, i + CREATE_CONCURRENCY).map((r) => this.#create(r)));
    for (const a of actions) {
      switch (a.type) {
        case 'request-checkout':
        case 'request-build':
          break;
        case 'cancel-build':
          await this.cancel(a.requestId);
          break;
        case 'release-semaphores':
          if (a.holder !== null && a.semaphores.length > 0)
            await this.release(a.holder, a.semaphores);
          break;
      }
    }
  }

  async release(holder: string, semaphores: readonly string[]): Promise<void> {
    const paths = semaphores.map((s) => (s.startsWith('/') ? s : this.paths.semaphore(s)));
    await releaseAll(this.zk, paths, holder);
  }

  /** Deletes a request that is finished with, and its empty lock directory. */
  async forget(id: string): Promise<void> {
    await this.requestDoc(id).delete();
    await this.#dropLockDir(id);
  }

  async #dropLockDir(id: string): Promise<void> {
    await this.zk.delete(this.paths.buildLock(id)).catch((e: unknown) => {
      // A lock directory with a node in it belongs to an executor still letting go.
      if (!(e instanceof ZkNoNodeError) && !(e instanceof ZkNotEmptyError)) throw e;
    });
  }

  async #create(request: BuildRequest): Promise<void> {
    try {
      await this.requestDoc(request.id).create(request);
      this.log.debug({ request: request.id, job: request.job }, 'build requested');
    } catch (e) {
      if (!(e instanceof ZkNodeExistsError)) throw e;
    }
  }

  /** Unclaimed: delete it. Claimed: ask its executor to stop. Completed or gone: nothing. */
  async cancel(id: string): Promise<void> {
    const doc = this.requestDoc(id);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const current = await doc.read();
      if (current === null || current.value.state === 'completed') return;
      try {
        if (current.value.state === 'requested') {
          await doc.delete(current.version);
          await this.#dropLockDir(id);
        } else if (!current.value.cancelRequested)
          await doc.write({ ...current.value, cancelRequested: true }, current.version);
        return;
      } catch (e) {
        // An executor claimed or finished it meanwhile: look again.
        if (!(e instanceof ZkBadVersionError) && !(e instanceof ZkNoNodeError)) throw e;
      }
    }
    this.log.warn({ request: id }, 'request kept changing; cancel left to the next pass');
  }
}
