/**
 * Proves that a component's stop leaves no timer behind: tracks the timers
 * created from `trackTimers()` on and tells which of them would still keep
 * the process alive.
 */
import { createHook } from 'node:async_hooks';

export interface TimerTracker {
  /** Timers created since tracking began that are still pending and ref'd. */
  pending(): number;
  /** Where each of those was created, for the failure message. */
  describe(): string;
  stop(): void;
}

interface Tracked {
  readonly timer: NodeJS.Timeout;
  readonly stack: string;
}

export function trackTimers(): TimerTracker {
  const tracked = new Map<number, Tracked>();
  const hook = createHook({
    init(id, type, _trigger, resource) {
      if (type !== 'Timeout') return;
      const frames = (new Error().stack ?? '').split('\n').slice(1);
      const stack = frames
        .filter((f) => !f.includes('(node:'))
        .slice(0, 6)
        .join('\n');
      tracked.set(id, { timer: resource as NodeJS.Timeout, stack });
    },
    destroy(id) {
      tracked.delete(id);
    },
  }).enable();
  // Node marks a timer destroyed when it is cleared or has fired for the last time;
  // the destroy hook itself comes a loop turn later, after a poll may have looked.
  const live = () =>
    [...tracked.values()].filter(
      ({ timer }) => !(timer as unknown as { _destroyed: boolean })._destroyed && timer.hasRef(),
    );
  return {
    pending: () => live().length,
    describe: () =>
      live()
        .map((t) => t.stack)
        .join('\n--\n'),
    stop: () => hook.disable(),
  };
}
