/**
 * `drawbridge scheduler|executor|run --supervise`: for hosts without a
 * supervisor (systemd, a container runtime), this process runs the daemon
 * as a child and starts it again when it exits after a drain request
 * (EXIT_DRAINED: a rolling restart) or dies (with a growing delay). A
 * SIGTERM/SIGINT is passed on to the child and ends supervision; the child's
 * exit code becomes ours. Exit 1 (invalid config or layout) is never retried.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EXIT_DRAINED } from './components-control.js';
import { EXIT, type Io } from './io.js';
import { onShutdownSignals, type ShutdownSignal, type SignalSource } from './process-signals.js';

export interface SuperviseRuntime {
  readonly io: Io;
  readonly signals: SignalSource;
  /** How to start the child: node, its flags and main.ts / bin, then `args`. */
  readonly command: { readonly file: string; readonly args: readonly string[] };
}

const FIRST_DELAY_MS = 1_000;
const MAX_DELAY_MS = 30_000;
/** A child that ran this long is healthy again: the next crash restarts without delay. */
const HEALTHY_AFTER_MS = 60_000;

export async function superviseCommand(
  childArgs: readonly string[],
  rt: SuperviseRuntime,
): Promise<number> {
  const say = (text: string): unknown => rt.io.stderr.write(`drawbridge supervise: ${text}\n`);
  let child: ChildProcess | undefined;
  let stopping: ShutdownSignal | undefined;
  let wakeDelay: (() => void) | undefined;
  const uninstall = onShutdownSignals(rt.signals, {
    drain: (signal) => {
      stopping = signal;
      say(`${signal}: passing it on; no restart after this`);
      child?.kill(signal);
      wakeDelay?.();
    },
    stop: (signal) => {
      child?.kill(signal);
    },
  });
  let delay = 0;
  try {
    for (let generation = 1; ; generation++) {
      const started = Date.now();
      // Its own process group: a terminal's Ctrl-C reaches only us, and we pass it on once.
      // The IPC channel closes if we die, which tells the child to drain (followSupervisor).
      child = spawn(rt.command.file, [...rt.command.args, ...childArgs], {
        stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
        detached: true,
      });
      say(`started ${childArgs[0] ?? 'daemon'} (pid ${child.pid ?? '?'}, run ${generation})`);
      const code = await exitOf(child);
      child = undefined;
      if (stopping !== undefined) return typeof code === 'number' ? code : EXIT.usage;
      if (code === EXIT.ok || code === EXIT.invalid) {
        say(`child exited ${code}; not restarting`);
        return code;
      }
      if (code === EXIT_DRAINED) {
        say('child drained on request; starting it again');
        delay = 0;
        continue;
      }
      if (Date.now() - started > HEALTHY_AFTER_MS) delay = 0;
      delay = delay === 0 ? FIRST_DELAY_MS : Math.min(delay * 2, MAX_DELAY_MS);
      say(`child ended (${code}); starting it again in ${delay / 1000} s`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wakeDelay = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      wakeDelay = undefined;
      if (stopping !== undefined) return EXIT.ok;
    }
  } finally {
    uninstall();
  }
}

/**
 * In a supervised child: when the supervisor goes away (even by SIGKILL), its
 * IPC channel closes, and the child drains as on SIGTERM rather than run unsupervised.
 */
export function followSupervisor(proc: NodeJS.Process): void {
  if (!proc.channel) return;
  proc.channel.unref();
  proc.once('disconnect', () => proc.kill(proc.pid, 'SIGTERM'));
}

/** The exit code, or the name of the signal that ended it. */
function exitOf(child: ChildProcess): Promise<number | string> {
  return new Promise((resolve) => {
    child.once('error', () => resolve(EXIT.usage));
    child.once('exit', (code, signal) => resolve(code ?? signal ?? EXIT.usage));
  });
}
