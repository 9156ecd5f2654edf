/**
 * A scheduler follows the layout stored in ZooKeeper (`layout/current`):
 * at start it picks the layout to run, then it watches the pointer and hands
 * every new version, loaded and validated again here, to the scheduler,
 * which switches between rounds. A version this scheduler cannot load is
 * logged as an error and the running layout stays.
 *
 * Start: the first scheduler (no other registered) stores the layout it
 * read from its files and runs it; one that joins running schedulers runs
 * the stored one, so a rolling restart never changes the layout by itself.
 */
import type { Logger } from 'pino';
import { formatDiagnostic } from '../../config/index.js';
import { toError } from '../../errors.js';
import { loadStoredLayout, type VersionedLayout } from '../../model/layout-reconfigure.js';
import { LayoutStore, type StoredLayout } from '../../model/layout-store.js';
import type { ZkClient } from '../../zk/client.js';
import type { ZkPaths } from '../../zk/paths.js';
import { listComponents } from '../../zk/registry.js';
import { watchData, type StopWatch } from '../../zk/watch.js';

const RETRY_MS = 1000;

export interface FollowLayoutOptions {
  /** The layout the scheduler was given, as stored: published when it starts first. */
  readonly initial: StoredLayout;
}

export interface LayoutFollowerDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly log: Logger;
  /** A new version to switch to; never called twice with the same version in a row. */
  readonly onLayout: (next: VersionedLayout) => void;
}

export class LayoutFollower {
  readonly #store: LayoutStore;
  readonly #deps: LayoutFollowerDeps;
  #version: string | undefined;
  /** A version that did not load here: not tried again until another is stored. */
  #refused: string | undefined;
  #stop: StopWatch | undefined;
  #retry: NodeJS.Timeout | undefined;
  /** Bumped by every check: a slower, older check must not apply what it read. */
  #generation = 0;

  constructor(deps: LayoutFollowerDeps) {
    this.#deps = deps;
    this.#store = new LayoutStore(deps.zk, deps.paths);
  }

  /** The layout to start with: our own when we start first (stored now), else the stored one. */
  async choose(
    own: VersionedLayout,
    options: FollowLayoutOptions,
    selfId: string,
  ): Promise<VersionedLayout> {
    const { zk, paths, log } = this.#deps;
    const others = (await listComponents(zk, paths.components('scheduler'))).filter(
      (c) => c.id !== selfId,
    );
    const published = await this.#store.publish(options.initial, {
      onlyIfAbsent: others.length > 0,
    });
    if (published.version === own.version) {
      this.#version = own.version;
      if (published.switched)
        log.info({ layoutVersion: own.version }, 'stored the layout it started with');
      return own;
    }
    const stored = await this.#load(published.version);
    if (stored === undefined) {
      // Cannot run what the others run: run our own rather than nothing, and say so.
      log.error(
        { layoutVersion: own.version, stored: published.version },
        'cannot load the stored layout; running the layout read at start',
      );
      this.#version = own.version;
      return own;
    }
    log.info(
      { layoutVersion: stored.version, read: own.version },
      'running the stored layout of the running schedulers (drawbridge reconfigure applies new files)',
    );
    this.#version = stored.version;
    return stored;
  }

  /** Watches `layout/current` from now on. */
  start(): void {
    if (this.#stop) return;
    this.#stop = watchData(this.#deps.zk, this.#store.currentPath, () => this.#check(), {
      onError: (err) => this.#deps.log.warn({ err }, 'layout watch error; it re-arms itself'),
    });
  }

  stop(): void {
    this.#stop?.();
    this.#stop = undefined;
    clearTimeout(this.#retry);
  }

  async #check(): Promise<void> {
    clearTimeout(this.#retry);
    const generation = ++this.#generation;
    try {
      const pointer = (await this.#store.current())?.value;
      if (!pointer || pointer.version === this.#version || pointer.version === this.#refused)
        return;
      const next = await this.#load(pointer.version);
      // A retry and a watch event can overlap: only the newest check may switch.
      if (generation !== this.#generation) return;
      if (!next) {
        this.#refused = pointer.version;
        return;
      }
      this.#version = next.version;
      this.#deps.log.info(
        { layoutVersion: next.version, previous: pointer.previous, by: pointer.switchedBy },
        'new layout stored; switching after this round',
      );
      this.#deps.onLayout(next);
    } catch (e) {
      // The watch fires only on a change: a read lost to ZooKeeper trouble is retried here.
      this.#deps.log.warn({ err: toError(e) }, 'cannot read the stored layout; retrying');
      if (this.#stop) this.#retry = setTimeout(() => void this.#check(), RETRY_MS);
    }
  }

  /** Loads a stored version; undefined (logged) when it is missing or does not load here. */
  async #load(version: string): Promise<VersionedLayout | undefined> {
    const log = this.#deps.log;
    const stored = await this.#store.read(version);
    if (!stored) {
      log.error({ layoutVersion: version }, 'the current layout version is not stored');
      return undefined;
    }
    const loaded = loadStoredLayout(stored);
    if (!loaded.layout) {
      log.error(
        { layoutVersion: version, errors: loaded.errors.map(formatDiagnostic) },
        'the stored layout does not load here (another Drawbridge version?); keeping the running one',
      );
      return undefined;
    }
    return { layout: loaded.layout, version };
  }
}
