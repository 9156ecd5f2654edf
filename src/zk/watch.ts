/**
 * Re-arming watches. ZooKeeper watches fire once; these helpers read again
 * and re-arm after every event and after every new session, coalesce bursts
 * (the callback never runs concurrently with itself, and changes that arrive
 * while it runs are delivered as one more call with the latest state), and
 * never let an error escape into ZooKeeper's event thread.
 */
import type { Stat, Watcher, ZkClient } from './client.js';
import { toError } from '../errors.js';
import { ZkConnectionLossError, ZkNoNodeError } from './errors.js';

export interface WatchOptions {
  /** Receives what a read or the callback threw; the watch keeps going. Default: ignore. */
  readonly onError?: (err: Error) => void;
}

export interface DataSnapshot {
  readonly data: Buffer;
  readonly stat: Stat;
}

/** Stops the watch; callbacks already running finish, no new ones start. */
export type StopWatch = () => void;

const RETRY_AFTER_LOSS_MS = 200;

/** Calls `cb` with the node's data (null while it does not exist) now and after every change. */
export function watchData(
  client: ZkClient,
  path: string,
  cb: (snapshot: DataSnapshot | null) => void | Promise<void>,
  options: WatchOptions = {},
): StopWatch {
  const fetch = async (w: Watcher): Promise<DataSnapshot | null> => {
    for (;;) {
      try {
        return await client.get(path, w);
      } catch (e) {
        if (!(e instanceof ZkNoNodeError)) throw e;
      }
      // Absent: watch for its creation; if it appeared meanwhile, read it.
      if ((await client.exists(path, w)) === null) return null;
    }
  };
  const same = (a: DataSnapshot | null, b: DataSnapshot | null): boolean =>
    a === b ||
    (a !== null &&
      b !== null &&
      a.stat.ctime === b.stat.ctime &&
      a.stat.version === b.stat.version &&
      a.stat.mtime === b.stat.mtime);
  return rearm(client, fetch, same, cb, options);
}

/** Calls `cb` with the node's children, sorted (null while the node does not exist), now and after every change. */
export function watchChildren(
  client: ZkClient,
  path: string,
  cb: (children: string[] | null) => void | Promise<void>,
  options: WatchOptions = {},
): StopWatch {
  const fetch = async (w: Watcher): Promise<string[] | null> => {
    for (;;) {
      try {
        return (await client.children(path, w)).sort();
      } catch (e) {
        if (!(e instanceof ZkNoNodeError)) throw e;
      }
      if ((await client.exists(path, w)) === null) return null;
    }
  };
  const same = (a: string[] | null, b: string[] | null): boolean =>
    a === b || (a !== null && b !== null && a.length === b.length && a.every((x, i) => x === b[i]));
  return rearm(client, fetch, same, cb, options);
}

function rearm<R>(
  client: ZkClient,
  fetch: (w: Watcher) => Promise<R>,
  same: (a: R, b: R) => boolean,
  cb: (value: R) => void | Promise<void>,
  options: WatchOptions,
): StopWatch {
  const report = (e: unknown): void => {
    try {
      options.onError?.(toError(e));
    } catch {
      // An error handler that throws has nowhere left to report to.
    }
  };
  let stopped = false;
  let running = false;
  let dirty = false;
  let failed = false;
  let last: { value: R } | undefined;
  let retryTimer: NodeJS.Timeout | undefined;

  const kick = (): void => {
    dirty = true;
    if (!running && !stopped) void run();
  };
  // One closure for every read: a client that dedupes watchers keeps one registration;
  // duplicates from one that does not fire together and collapse into one more read.
  const watcher: Watcher = () => kick();

  const run = async (): Promise<void> => {
    running = true;
    while (dirty && !stopped) {
      dirty = false;
      let value: R;
      try {
        value = await fetch(watcher);
        failed = false;
      } catch (e) {
        onFailure(e);
        continue;
      }
      if (stopped || (last && same(last.value, value))) continue;
      last = { value };
      try {
        await cb(value);
      } catch (e) {
        report(e);
      }
    }
    running = false;
  };

  const onFailure = (e: unknown): void => {
    if (stopped || client.state === 'closed') return;
    report(e);
    failed = true;
    // Normally the next 'connected' state re-arms; if it already came back
    // before we saw the error, try again shortly.
    if (e instanceof ZkConnectionLossError && client.state === 'connected' && !retryTimer) {
      retryTimer = setTimeout(() => {
        retryTimer = undefined;
        if (failed) kick();
      }, RETRY_AFTER_LOSS_MS);
    }
  };

  const unlisten = client.addListener({
    onState: (state) => {
      if (state === 'connected' && failed) kick();
    },
    // Watches do not survive a session: read again, which re-arms them.
    onNewSession: () => kick(),
  });
  kick();
  return () => {
    stopped = true;
    if (retryTimer) clearTimeout(retryTimer);
    unlisten();
  };
}
