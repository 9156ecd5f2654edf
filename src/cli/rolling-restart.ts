/**
 * `drawbridge rolling-restart`: restarts the schedulers (or, with --kind
 * executor, the executors) one at a time through src/ops, printing each step
 * and, while it waits, what it waits for. Exit 0 when every one came back, 1
 * when the operation stopped (the message says where and why).
 */
import {
  startRollingRestart,
  type RestartKind,
  type RollingRestartProgress,
} from '../ops/index.js';
import { openAdminSession } from './admin-session.js';
import type { Env } from './daemon-config-load.js';
import { CliUsageError, timeoutSeconds } from './errors.js';
import { EXIT, type Io } from './io.js';

export interface RollingRestartCliOptions {
  readonly config: string;
  readonly kind: string;
  /** Seconds per component, as typed. */
  readonly timeout: string;
}

/** While waiting, a reminder line this often (ms). */
const REMIND_MS = 5_000;

export async function rollingRestartCommand(
  options: RollingRestartCliOptions,
  env: Env,
  io: Io,
  signal?: AbortSignal,
): Promise<number> {
  if (options.kind !== 'scheduler' && options.kind !== 'executor')
    throw new CliUsageError(`--kind: scheduler or executor, got "${options.kind}"`, '--kind');
  const kind: RestartKind = options.kind;
  const timeoutS = timeoutSeconds(options.timeout);
  const session = await openAdminSession(options.config, env, io);
  if (session === undefined) return EXIT.invalid;
  try {
    const handle = await startRollingRestart(session.zk, session.paths, {
      kind,
      requestedBy: `cli (${env.USER ?? 'unknown user'})`,
      timeoutMs: timeoutS * 1000,
      onProgress: progressPrinter(io),
      ...(signal ? { signal } : {}),
    });
    io.stdout.write(
      `rolling restart ${handle.id}: ${handle.record.steps.length} ${kind}s, one at a time\n`,
    );
    const final = await handle.done;
    if (final.state === 'succeeded') {
      io.stdout.write(`rolling restart ${final.id} succeeded: ${final.message}\n`);
      return EXIT.ok;
    }
    io.stderr.write(
      `drawbridge: rolling restart ${final.id} failed: ${final.message} (${final.error?.code ?? 'unknown'})\n`,
    );
    return EXIT.invalid;
  } finally {
    await session.zk.close();
  }
}

/** One line per record change, and a reminder every few seconds while waiting. */
function progressPrinter(io: Io): (p: RollingRestartProgress) => void {
  let lastMessage = '';
  let lastWait = '';
  let remindedAt = 0;
  return ({ record, waitingFor, waitedMs }) => {
    if (record.message !== lastMessage) {
      lastMessage = record.message;
      const done = record.steps.filter((s) => s.state === 'done' || s.state === 'gone').length;
      io.stderr.write(`  [${done}/${record.steps.length}] ${record.message}\n`);
    }
    if (waitingFor === null) return;
    if (waitingFor !== lastWait || waitedMs - remindedAt >= REMIND_MS) {
      if (waitingFor !== lastWait) remindedAt = 0;
      else remindedAt = waitedMs;
      lastWait = waitingFor;
      io.stderr.write(
        `  waiting for ${waitingFor} (${Math.round(waitedMs / 1000)} s of ${record.timeoutMs / 1000} s)\n`,
      );
    }
  };
}
