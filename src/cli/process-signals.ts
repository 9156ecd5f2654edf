/**
 * Shutdown signals: the first SIGTERM or SIGINT asks for a graceful drain,
 * any later one for an immediate stop. The handlers are removed by the
 * returned function, so a stopped daemon leaves nothing on `process`.
 */

export type ShutdownSignal = 'SIGTERM' | 'SIGINT';
export const SHUTDOWN_SIGNALS: readonly ShutdownSignal[] = ['SIGTERM', 'SIGINT'];

/** SIGHUP: reload (reconfigure the layout), as daemons traditionally do. */
export type ReloadSignal = 'SIGHUP';

/** What signals come from: `process` in production, an EventEmitter in tests. */
export interface SignalSource {
  on(event: ShutdownSignal | ReloadSignal, listener: () => void): unknown;
  off(event: ShutdownSignal | ReloadSignal, listener: () => void): unknown;
}

export interface ShutdownHandlers {
  readonly drain: (signal: ShutdownSignal) => void;
  readonly stop: (signal: ShutdownSignal) => void;
}

export function onShutdownSignals(source: SignalSource, handlers: ShutdownHandlers): () => void {
  let received = 0;
  const listeners = SHUTDOWN_SIGNALS.map((signal) => {
    const listener = (): void => {
      received += 1;
      if (received === 1) handlers.drain(signal);
      else handlers.stop(signal);
    };
    source.on(signal, listener);
    return [signal, listener] as const;
  });
  return () => {
    for (const [signal, listener] of listeners) source.off(signal, listener);
  };
}

/** Calls `reload` on every SIGHUP (never concurrently: one arriving meanwhile is folded into one more). */
export function onReloadSignal(source: SignalSource, reload: () => Promise<void>): () => void {
  let running: Promise<void> | undefined;
  let again = false;
  const listener = (): void => {
    if (running) {
      again = true;
      return;
    }
    running = (async () => {
      do {
        again = false;
        await reload().catch(() => undefined);
      } while (again);
    })().finally(() => (running = undefined));
  };
  source.on('SIGHUP', listener);
  return () => source.off('SIGHUP', listener);
}
