/**
 * What wakes a scheduler: any change to the queues it consumes or to the
 * set of executors (one that dies usually takes its build leases along), and
 * a periodic safety tick: a lease can also vanish without any change to the
 * registry's children (an old session expiring after its replacement
 * registered), and is then seen only by looking.
 * Build requests are not watched: schedulers alone create and delete them.
 * A queue change that only removed entries (a consumer acking events) brings
 * no work and wakes nobody: every event used to cost each scheduler two
 * rounds. In the executor registry, a removal is what matters most.
 * Wake-ups are coalesced by the caller; this only says "look again".
 */
import type { Logger } from 'pino';
import type { ZkClient } from '../../zk/client.js';
import type { StopWatch } from '../../zk/watch.js';
import { watchChildren } from '../../zk/watch.js';

export interface WakeSources {
  readonly zk: ZkClient;
  /** Queue entry directories: an added entry wakes. */
  readonly queues: readonly string[];
  /** Directories where any change of children wakes (the executor registry). */
  readonly registries: readonly string[];
  readonly intervalMs: number;
  readonly log: Logger;
}

/**
 * Whether a queue directory's new listing may hold work: the first listing,
 * a vanished directory (recreated, say), or any entry not listed before.
 */
export function bringsWork(
  before: ReadonlySet<string> | undefined,
  children: readonly string[] | null,
): boolean {
  return before === undefined || children === null || children.some((c) => !before.has(c));
}

/** Starts watching; returns the function that stops every watch and the timer. */
export function watchForWork(sources: WakeSources, wake: (why: string) => void): () => void {
  const onError = (dir: string) => (err: Error) =>
    sources.log.debug({ err, dir }, 'watch error; it re-arms itself');
  const stops: StopWatch[] = [
    ...sources.queues.map((dir) => {
      let last: ReadonlySet<string> | undefined;
      return watchChildren(
        sources.zk,
        dir,
        (children) => {
          const before = last;
          last = new Set(children ?? []);
          if (bringsWork(before, children)) wake(dir);
        },
        { onError: onError(dir) },
      );
    }),
    ...sources.registries.map((dir) =>
      watchChildren(sources.zk, dir, () => wake(dir), { onError: onError(dir) }),
    ),
  ];
  const timer = setInterval(() => wake('safety tick'), sources.intervalMs);
  return () => {
    clearInterval(timer);
    for (const stop of stops) stop();
  };
}
