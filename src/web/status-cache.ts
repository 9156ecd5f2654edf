/**
 * `/api/status` serialised once per change instead of once per request.
 * A status summary of 100 active buildsets is about a megabyte of JSON;
 * reading, parsing and serialising it per request capped the route at a few
 * dozen answers per second. Watches on the pipelines directory and on each
 * pipeline's summary mark the cached body stale; a maximum age bounds how
 * stale it can get should a watch be lost. Concurrent requests share one
 * reload. Every web process builds the body from the same nodes in the same
 * order, so they answer byte for byte the same (and the same ETag).
 */
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip as gzipCallback } from 'node:zlib';
import type { Logger } from 'pino';
import { toError } from '../errors.js';
import {
  watchChildren,
  watchData,
  type StopWatch,
  type ZkClient,
  type ZkPaths,
} from '../zk/index.js';

export interface StatusBody {
  readonly body: Buffer;
  /** The body gzipped once (about 25 times smaller), for clients that accept it. */
  readonly gzip: Buffer;
  /** A strong ETag over the body. */
  readonly etag: string;
}

const gzip = promisify(gzipCallback);

export class StatusCache {
  readonly #perPipeline = new Map<string, StopWatch>();
  #stopDirectory: StopWatch | undefined;
  /** Bumped by every watch event; a body built for an older count is stale. */
  #changes = 0;
  #current: (StatusBody & { readonly changes: number; readonly at: number }) | undefined;
  #loading: Promise<StatusBody> | undefined;

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    private readonly log: Logger,
    private readonly read: () => Promise<unknown[]>,
    private readonly maxAgeMs = 2_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Starts watching; without it the cache still works, on maximum age alone. */
  start(): void {
    if (this.#stopDirectory) return;
    const onError = (err: Error) =>
      this.log.debug({ err }, 'status watch error; it re-arms itself');
    this.#stopDirectory = watchChildren(
      this.zk,
      this.paths.pipelines(),
      (names) => {
        this.#changes += 1;
        const keep = new Set(names ?? []);
        for (const [name, stop] of this.#perPipeline)
          if (!keep.has(name)) {
            stop();
            this.#perPipeline.delete(name);
          }
        for (const name of keep) {
          if (this.#perPipeline.has(name)) continue;
          let path: string;
          try {
            path = this.paths.pipelineStatus(name);
          } catch {
            continue; // not a pipeline node Drawbridge made
          }
          this.#perPipeline.set(
            name,
            watchData(this.zk, path, () => void (this.#changes += 1), { onError }),
          );
        }
      },
      { onError },
    );
  }

  stop(): void {
    this.#stopDirectory?.();
    this.#stopDirectory = undefined;
    for (const stop of this.#perPipeline.values()) stop();
    this.#perPipeline.clear();
  }

  async get(): Promise<StatusBody> {
    const c = this.#current;
    if (c && c.changes === this.#changes && this.now() - c.at < this.maxAgeMs) return c;
    this.#loading ??= this.#load().finally(() => (this.#loading = undefined));
    return this.#loading;
  }

  async #load(): Promise<StatusBody> {
    // Counted before reading: a change that lands during the read makes the result stale at once.
    const changes = this.#changes;
    const at = this.now();
    try {
      const body = Buffer.from(JSON.stringify({ pipelines: await this.read() }));
      const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
      this.#current = { body, gzip: await gzip(body), etag, changes, at };
      return this.#current;
    } catch (e) {
      this.log.debug({ err: toError(e) }, 'status reload failed');
      throw e;
    }
  }
}
