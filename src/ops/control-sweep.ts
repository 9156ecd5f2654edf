/**
 * Sweeps control requests left behind by dead components. A request node at
 * <root>/admin/control/<id> is deleted by its component as it exits, or by
 * the requester once it saw the request carried out; a component killed
 * (SIGKILL, host lost) does neither, and its node would stay forever.
 *
 * Every scheduler runs a sweeper. A request counts as orphaned while its id
 * is not in the registry, and is deleted once it has been seen orphaned, at
 * the same version, on two sweeps at least `graceMs` apart. The grace is
 * what keeps the request of a live component whose session expired: it
 * re-registers under the same id when it reconnects. No other process ever
 * takes that id (<kind>-<host>-<pid>-<random>), so one absent for longer is
 * treated as gone. Deletes carry the version first seen orphaned, so a
 * request written since stays (and starts its own grace); sweepers racing
 * on the same node are harmless: one deletes it, the others find it gone.
 */
import { toError } from '../errors.js';
import type { ZkClient } from '../zk/client.js';
import { decodeAt, jsonCodec } from '../zk/codec.js';
import { ZkBadVersionError, ZkNoNodeError } from '../zk/errors.js';
import type { ZkPaths } from '../zk/paths.js';
import { unlessMissing } from '../zk/shard.js';
import { listAllComponents } from './components.js';
import { parseControlRequest, type ControlRequest } from './control.js';

export interface ControlSweepOptions {
  /** How long a request's component must stay unregistered before the request is deleted (ms). */
  readonly graceMs: number;
  /** A monotonic clock in ms; default performance.now. */
  readonly now?: () => number;
}

/** Defaults for a scheduler: a minute between sweeps, five minutes of grace. */
export const CONTROL_SWEEP_DEFAULTS = { intervalMs: 60_000, graceMs: 5 * 60_000 } as const;

/** A request deleted by a sweep: its component's id and what it asked (null if unreadable). */
export interface SweptRequest {
  readonly component: string;
  readonly request: ControlRequest | null;
  /** How long it was seen orphaned before it was deleted (ms). */
  readonly orphanedMs: number;
}

/** An orphaned request as first seen: its node's version then, and when. */
export interface Orphan {
  readonly version: number;
  readonly since: number;
}

export interface SweepPlan {
  /** What the next sweep remembers. */
  readonly orphans: ReadonlyMap<string, Orphan>;
  /** Requests to delete now, with the version they must still have. */
  readonly due: readonly { readonly component: string; readonly orphan: Orphan }[];
}

/**
 * Pure: given the orphans remembered from earlier sweeps, the request nodes
 * now (id → version) and the registered ids, what to remember and what to
 * delete. A registered id, a vanished node or a new version forgets the past.
 */
export function planSweep(
  previous: ReadonlyMap<string, Orphan>,
  requests: ReadonlyMap<string, number>,
  registered: ReadonlySet<string>,
  now: number,
  graceMs: number,
): SweepPlan {
  const orphans = new Map<string, Orphan>();
  const due: { component: string; orphan: Orphan }[] = [];
  for (const [component, version] of requests) {
    if (registered.has(component)) continue;
    const seen = previous.get(component);
    if (seen === undefined || seen.version !== version) {
      orphans.set(component, { version, since: now });
      continue;
    }
    if (now - seen.since >= graceMs) due.push({ component, orphan: seen });
    else orphans.set(component, seen);
  }
  return { orphans, due };
}

const requestCodec = jsonCodec<ControlRequest>(parseControlRequest);

/** One sweeper per process; `sweep()` is not meant to run concurrently with itself. */
export class ControlRequestSweeper {
  #orphans: ReadonlyMap<string, Orphan> = new Map();
  readonly #now: () => number;

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    private readonly options: ControlSweepOptions,
  ) {
    if (!Number.isFinite(options.graceMs) || options.graceMs < 0)
      throw new RangeError(`control sweep: graceMs must be a number >= 0, got ${options.graceMs}`);
    this.#now = options.now ?? (() => performance.now());
  }

  /** The requests seen orphaned and not yet deleted, by component id (for logs and tests). */
  get orphans(): ReadonlyMap<string, Orphan> {
    return this.#orphans;
  }

  /** Reads the request nodes, then the registry; deletes what is due. Returns what it deleted. */
  async sweep(): Promise<SweptRequest[]> {
    const dir = this.paths.controlRequests();
    const ids = await unlessMissing(this.zk.children(dir), [] as string[]);
    const nodes = new Map<string, { data: Buffer; version: number }>();
    await Promise.all(
      ids.map(async (id) => {
        const node = await unlessMissing(this.zk.get(`${dir}/${id}`), null);
        if (node !== null) nodes.set(id, { data: node.data, version: node.stat.version });
      }),
    );
    // The registry is read after the requests: a component registered meanwhile counts as alive.
    const registered = new Set((await listAllComponents(this.zk, this.paths)).map((c) => c.id));
    const now = this.#now();
    const versions = new Map([...nodes].map(([id, n]) => [id, n.version]));
    const plan = planSweep(this.#orphans, versions, registered, now, this.options.graceMs);
    this.#orphans = plan.orphans;
    const swept: SweptRequest[] = [];
    for (const { component, orphan } of plan.due) {
      // Paths from the listing as they are: a node made by hand need not be a valid id.
      const path = `${dir}/${component}`;
      if (await this.#delete(path, orphan.version))
        swept.push({
          component,
          request: this.#decode(path, nodes.get(component)?.data),
          orphanedMs: now - orphan.since,
        });
    }
    return swept;
  }

  /** True when this call deleted it; false when it was gone or rewritten meanwhile. */
  async #delete(path: string, version: number): Promise<boolean> {
    try {
      await this.zk.delete(path, version);
      return true;
    } catch (e) {
      if (e instanceof ZkNoNodeError || e instanceof ZkBadVersionError) return false;
      throw e;
    }
  }

  #decode(path: string, data: Buffer | undefined): ControlRequest | null {
    if (data === undefined) return null;
    try {
      return decodeAt(requestCodec, path, data);
    } catch {
      return null;
    }
  }
}

export interface ControlSweepRunOptions extends ControlSweepOptions {
  /** Time between sweeps (ms). */
  readonly intervalMs: number;
  /** Called with what one sweep deleted, when it deleted anything. Must not throw. */
  readonly onSwept?: (swept: readonly SweptRequest[]) => void;
  /** A sweep failed (ZooKeeper away, say); the next one tries again. Must not throw. */
  readonly onError?: (err: Error) => void;
}

export interface ControlSweep {
  /** Stops the timer and waits for a sweep in progress. Idempotent; the same promise. */
  stop(): Promise<void>;
}

/** Sweeps every `intervalMs` until stopped; the first sweep runs after one interval. */
export function startControlSweep(
  zk: ZkClient,
  paths: ZkPaths,
  options: ControlSweepRunOptions,
): ControlSweep {
  if (!Number.isFinite(options.intervalMs) || options.intervalMs <= 0)
    throw new RangeError(
      `control sweep: intervalMs must be a number > 0, got ${options.intervalMs}`,
    );
  const sweeper = new ControlRequestSweeper(zk, paths, options);
  let state: 'running' | 'stopped' = 'running';
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();
  let stopping: Promise<void> | undefined;
  const report = (fn: () => void): void => {
    try {
      fn();
    } catch {
      // A listener's failure must not stop the sweeps.
    }
  };
  const tick = (): void => {
    running = sweeper.sweep().then(
      (swept) => {
        if (swept.length > 0) report(() => options.onSwept?.(swept));
      },
      (e: unknown) => report(() => options.onError?.(toError(e))),
    );
    void running.then(schedule);
  };
  const schedule = (): void => {
    if (state !== 'running') return;
    timer = setTimeout(tick, options.intervalMs);
    timer.unref();
  };
  schedule();
  return {
    stop() {
      stopping ??= (async () => {
        state = 'stopped';
        clearTimeout(timer);
        await running;
      })();
      return stopping;
    },
  };
}
