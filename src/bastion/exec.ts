import type { Readable } from 'node:stream';
import { toError } from '../errors.js';
import type { BastionConnection, RemoteChannel } from './connection.js';
import { SshConnectionLostError } from './errors.js';
import { shJoin, validateId, validateRemoteDir } from './quote.js';
import { GROUP_SCRIPT, KILL_ORPHANS_SCRIPT, KILL_SCRIPT, PGID_MARKER } from './scripts.js';

export interface GroupExecOptions {
  /** Directory on the bastion for pid files, e.g. `<root>/.run`. */
  runDir: string;
  /** Unique id of this command; names its pid file. */
  id: string;
  /** Aborting kills the remote process group (TERM, then KILL after killGraceMs). */
  signal?: AbortSignal;
  /** Data for the command's stdin; without it stdin is watched for the channel's end. */
  stdin?: Buffer | Readable;
  onStdout?: (chunk: Buffer) => void;
  onStderr?: (chunk: Buffer) => void;
  /** Called once the remote group exists, with its id, before the command starts. */
  onStart?: (pgid: number) => void;
  /** Default 5000 ms. */
  killGraceMs?: number;
}

export interface GroupExecResult {
  exitCode: number | null;
  exitSignal: string | null;
  /** The remote process group id, null if the command never started. */
  pgid: number | null;
  /** True when the signal aborted the command (the group was killed). */
  aborted: boolean;
}

const MAX_HEADER = 1 << 20;

/**
 * Runs argv on the bastion in a process group of its own, recorded in a pid
 * file. Resolves with the exit status, or with `aborted` after the group was
 * killed; rejects with SshConnectionLostError if the connection broke.
 */
export async function execInGroup(
  conn: BastionConnection,
  argv: readonly string[],
  opts: GroupExecOptions,
): Promise<GroupExecResult> {
  const pidFile = `${validateRemoteDir(opts.runDir)}/${validateId('command id', opts.id)}.pid`;
  const mode = opts.stdin === undefined ? 'watch' : 'stdin';
  const command = shJoin([
    'setsid',
    '-w',
    'sh',
    '-c',
    GROUP_SCRIPT,
    'drawbridge-group',
    pidFile,
    mode,
    ...argv,
  ]);
  const remote = await conn.exec(command, 'job', opts.signal);
  const { channel } = remote;
  const stdin = opts.stdin;
  if (Buffer.isBuffer(stdin)) channel.end(stdin);
  else if (stdin) {
    // pipe() does not forward a source error; without this the command would wait for EOF forever.
    stdin.once('error', () => channel.close());
    stdin.pipe(channel);
  }
  return supervise(conn, remote, pidFile, opts);
}

function supervise(
  conn: BastionConnection,
  { channel, exitStatus }: RemoteChannel,
  pidFile: string,
  opts: GroupExecOptions,
): Promise<GroupExecResult> {
  const graceMs = opts.killGraceMs ?? 5_000;
  const signal = opts.signal;
  return new Promise((resolve, reject) => {
    let pgid: number | null = null;
    let header: Buffer | null = Buffer.alloc(0);
    let aborted = false;
    let killing: Promise<void> | undefined;
    let fallback: NodeJS.Timeout | undefined;

    const startKill = (): void => {
      if (killing || pgid === null) return;
      killing = killGroup(conn, pgid, pidFile, graceMs).catch(() => {
        // The control lane failed (connection trouble): closing the channel makes the watchdog end the group.
        channel.close();
      });
    };
    const onAbort = (): void => {
      aborted = true;
      startKill();
      // Last resort should neither the kill nor the group's end close the channel.
      fallback = setTimeout(() => channel.close(), graceMs + 15_000);
    };
    const started = (id: number): void => {
      pgid = id;
      quietly(() => opts.onStart?.(id));
      if (aborted) startKill();
    };
    const out = (chunk: Buffer): void => quietly(() => opts.onStdout?.(chunk));

    channel.on('data', (chunk: Buffer) => {
      if (header === null) return out(chunk);
      header = Buffer.concat([header, chunk]);
      const found = findMarker(header);
      if (found) {
        if (found.before.length > 0) out(found.before);
        header = null;
        started(found.pgid);
        if (found.after.length > 0) out(found.after);
      } else if (header.length > MAX_HEADER) {
        out(header);
        header = null;
      }
    });
    // Always drain stderr: an unread stream stalls the channel's window and its close.
    channel.stderr.on('data', (chunk: Buffer) => quietly(() => opts.onStderr?.(chunk)));
    channel.on('error', () => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();

    channel.once('close', () => {
      signal?.removeEventListener('abort', onAbort);
      const finish = (): void => {
        clearTimeout(fallback);
        const exit = exitStatus();
        if (!aborted && exit === undefined) {
          reject(new SshConnectionLostError(conn.options.host, pgid !== null));
          return;
        }
        resolve({ exitCode: exit?.code ?? null, exitSignal: exit?.signal ?? null, pgid, aborted });
      };
      // Report only after TERM/KILL is through, so "ended" means the whole group is gone.
      if (killing) void killing.finally(finish);
      else finish();
    });
  });
}

/** Runs a caller's callback from inside an event listener, which must never throw. */
function quietly(f: () => void): void {
  try {
    f();
  } catch {
    // the caller's trouble must not take the command down
  }
}

function findMarker(buf: Buffer): { pgid: number; before: Buffer; after: Buffer } | undefined {
  const at = buf.indexOf(PGID_MARKER);
  if (at < 0 || (at > 0 && buf[at - 1] !== 0x0a)) return undefined;
  const nl = buf.indexOf(0x0a, at);
  if (nl < 0) return undefined;
  const id = Number(buf.subarray(at + PGID_MARKER.length, nl).toString('latin1'));
  if (!Number.isInteger(id) || id <= 1) return undefined;
  return { pgid: id, before: buf.subarray(0, at), after: buf.subarray(nl + 1) };
}

/** TERM the group, KILL it after the grace period; over the reserved control slot. */
export async function killGroup(
  conn: BastionConnection,
  pgid: number,
  pidFile: string,
  graceMs: number,
): Promise<void> {
  const tenths = String(Math.max(0, Math.ceil(graceMs / 100)));
  const argv = ['sh', '-c', KILL_SCRIPT, 'drawbridge-kill', String(pgid), pidFile, tenths];
  // Bounded: a kill that cannot get through leaves the rest to the watchdog.
  const result = await execControl(conn, argv, AbortSignal.timeout(graceMs + 10_000));
  if (result.exitCode !== 0)
    throw new Error(`kill of group ${pgid} exited ${result.exitCode}: ${result.stderr}`);
}

/**
 * Kills the groups named by several pid files in ONE control command (TERM
 * all, KILL each after its grace), then removes `remove`. Resolves with the
 * pid files whose group was seen and is gone; a missing pid file is not in it.
 */
export async function killOrphans(
  conn: BastionConnection,
  groups: readonly { readonly pidFile: string; readonly graceMs: number }[],
  remove: readonly string[] = [],
): Promise<Set<string>> {
  const pairs = groups.flatMap((g) => [String(Math.max(0, Math.ceil(g.graceMs / 100))), g.pidFile]);
  const graceMs = Math.max(0, ...groups.map((g) => g.graceMs));
  // Bounded: the script gives KILL 5 s after the longest grace; beyond that the watchdog is gone too.
  const result = await execControl(
    conn,
    ['sh', '-c', KILL_ORPHANS_SCRIPT, 'drawbridge-kill-orphans', ...pairs, '--', ...remove],
    AbortSignal.timeout(graceMs + 20_000),
  );
  if (result.exitCode !== 0)
    throw new Error(`killing orphaned groups exited ${result.exitCode}: ${result.stderr}`);
  const gone = new Set<string>();
  for (const line of result.stdout.split('\n'))
    if (line.startsWith('gone ')) gone.add(line.slice(5));
  return gone;
}

export interface ControlResult {
  exitCode: number | null;
  stdout: string;
  stderr: string;
}

/** A short command in the control lane, output collected. Not grouped: it must not need killing. */
export async function execControl(
  conn: BastionConnection,
  argv: readonly string[],
  signal?: AbortSignal,
): Promise<ControlResult> {
  return collect(conn, await conn.exec(shJoin(argv), 'control', signal), signal);
}

/** Collects a channel's output; aborting closes the channel. */
export function collect(
  conn: BastionConnection,
  { channel, exitStatus }: RemoteChannel,
  signal?: AbortSignal,
): Promise<ControlResult> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const onAbort = (): void => channel.close();
    channel.on('data', (c: Buffer) => out.push(c));
    channel.stderr.on('data', (c: Buffer) => err.push(c));
    channel.on('error', () => undefined);
    signal?.addEventListener('abort', onAbort, { once: true });
    channel.once('close', () => {
      signal?.removeEventListener('abort', onAbort);
      if (signal?.aborted) return reject(toError(signal.reason));
      const exit = exitStatus();
      if (exit === undefined) return reject(new SshConnectionLostError(conn.options.host, true));
      resolve({
        exitCode: exit.code,
        stdout: Buffer.concat(out).toString(),
        stderr: Buffer.concat(err).toString(),
      });
    });
  });
}
