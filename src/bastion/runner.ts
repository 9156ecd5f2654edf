import { pino, type Logger } from 'pino';
import { toError } from '../errors.js';
import type { BastionConnection, RemoteChannel } from './connection.js';
import { BastionCommandError, SshConnectionLostError } from './errors.js';
import { killOrphans } from './exec.js';
import { encodeRequest, FrameReader, jsonPayload, type Frame } from './frames.js';
import { shJoin, validateId, validateRemoteDir } from './quote.js';
import { RUNNER_PREAMBLE, RUNNER_SOURCE } from './runner-source.js';

/** Why the runner did not start a job (see docs/bastion.md, "The job runner"). */
export type RunnerRefusal =
  | 'no-workspace'
  | 'wrong-commit'
  | 'playbook-missing'
  | 'vars'
  | 'spawn'
  | 'canceled'
  | 'runner-ending'
  | 'bad-request';

export interface RunnerWorkspace {
  readonly buildset: string;
  /** The buildset's lock file: held shared by the job, so retention cannot remove the workspace. */
  readonly lock: string;
  /** The workspace's HEAD must be this commit. */
  readonly sha: string;
  /** Relative to the workspace; must exist. */
  readonly playbook?: string;
}

export interface RunnerJob {
  /** Unique among running commands; names the pid file `<runDir>/<name>.pid`. */
  readonly name: string;
  readonly runDir: string;
  readonly argv: readonly string[];
  /** Added to the runner's own environment, for this job's process only. */
  readonly env: Readonly<Record<string, string>>;
  readonly cwd: string;
  readonly workspace?: RunnerWorkspace;
  /** Written (mode 0600) just before the job starts, removed when it ends. */
  readonly vars?: { readonly path: string; readonly content: string };
  /** Nice value for the job's whole process group; 0 leaves it alone. */
  readonly nice?: number;
  /** Start the job under SCHED_BATCH (inherited by everything it starts). */
  readonly batch?: boolean;
  /** TERM → KILL grace when the signal aborts the job. Default 5000 ms. */
  readonly killGraceMs?: number;
  readonly signal?: AbortSignal;
  /**
   * Called once the run request is written to the runner: from then on the job
   * may be running (it may also still wait for its workspace lock).
   */
  readonly onSent?: () => void;
  /** Called once the job's process group exists, with its id. */
  readonly onStart?: (pgid: number) => void;
  readonly onStdout?: (chunk: Buffer) => void;
  readonly onStderr?: (chunk: Buffer) => void;
}

export type RunnerResult =
  | {
      readonly kind: 'exited';
      /** 128 + n when signal n ended it, as a shell would report. */
      readonly exitCode: number | null;
      readonly exitSignal: string | null;
      readonly pgid: number;
      /** True when the signal aborted the job (its group was killed). */
      readonly aborted: boolean;
    }
  | {
      readonly kind: 'refused';
      readonly reason: RunnerRefusal;
      readonly message: string;
      readonly aborted: boolean;
    };

export interface BastionRunnerOptions {
  /** The Python 3 interpreter on the bastion, default `python3`. */
  python?: string;
  logger?: Logger;
}

const HELLO_TIMEOUT_MS = 30_000;
const STDERR_TAIL = 4096;
/** What a login shell may print before the runner starts; more is not a shell's greeting. */
const MAX_NOISE = 64 * 1024;
const PREAMBLE = Buffer.from(`\n${RUNNER_PREAMBLE}\n`);

const shared = new WeakMap<BastionConnection, Map<string, BastionRunner>>();

/**
 * The job runner on the bastion, seen from the executor: one long-lived
 * process per connection, started lazily over one exec channel (held for good,
 * from the job lane) and again after it or the connection was lost. Every job
 * runs through it, so a build costs no SSH channel, session or shell.
 */
export class BastionRunner {
  readonly python: string;
  readonly #log: Logger;
  #starting: Promise<RunnerSession> | undefined;
  #session: RunnerSession | undefined;

  /** The runner of this connection and interpreter, made on first use: every AnsibleRunner of a connection shares it. */
  static for(conn: BastionConnection, options: BastionRunnerOptions = {}): BastionRunner {
    const python = options.python ?? 'python3';
    let byPython = shared.get(conn);
    if (!byPython) shared.set(conn, (byPython = new Map<string, BastionRunner>()));
    let runner = byPython.get(python);
    if (!runner) byPython.set(python, (runner = new BastionRunner(conn, options)));
    return runner;
  }

  constructor(
    private readonly conn: BastionConnection,
    options: BastionRunnerOptions = {},
  ) {
    this.python = options.python ?? 'python3';
    this.#log = (options.logger ?? pino({ level: 'silent' })).child({
      component: 'bastion-runner',
    });
  }

  /** The runner's process id on the bastion while one is up; for diagnostics and tests. */
  get pid(): number | undefined {
    return this.#session?.pid;
  }

  /**
   * Runs a job; resolves when it exited (after its group was killed, if the
   * signal aborted it) or was refused. Rejects with SshConnectionLostError when
   * the runner or the connection was lost under it, or with the errors of
   * starting a runner (SshNotConnectedError, BastionCommandError, ...).
   */
  async run(job: RunnerJob): Promise<RunnerResult> {
    const session = await untilAborted(this.#ensure(), job.signal);
    return session.run(job);
  }

  #ensure(): Promise<RunnerSession> {
    if (!this.#starting) {
      const starting = this.#start();
      this.#starting = starting;
      starting.catch(() => {
        if (this.#starting === starting) this.#starting = undefined;
      });
    }
    return this.#starting;
  }

  async #start(): Promise<RunnerSession> {
    // -I: isolated, so a json.py (or any module) in the login directory cannot shadow the stdlib.
    const command = `exec ${shJoin([this.python, '-I', '-c', RUNNER_SOURCE])}`;
    const remote = await this.conn.exec(command, 'job');
    const session = new RunnerSession(this.conn, remote, this.python, this.#log, () => {
      // Lost: the next job starts a new runner.
      if (this.#session === session) this.#session = undefined;
      this.#starting = undefined;
    });
    await session.ready;
    this.#session = session;
    this.#log.debug({ pid: session.pid }, 'job runner started');
    return session;
  }
}

interface Pending {
  readonly job: RunnerJob;
  readonly pidFile: string;
  /** The run request was written: the job may be running unless a refusal comes back. */
  sent: boolean;
  pgid: number | null;
  aborted: boolean;
  resolve(result: RunnerResult): void;
  reject(err: Error): void;
}

/** One runner process and its channel. */
class RunnerSession {
  readonly ready: Promise<void>;
  pid: number | undefined;
  readonly #pending = new Map<number, Pending>();
  readonly #reader: FrameReader;
  #nextId = 1;
  #closed = false;
  /** The runner is ending (or gone): new jobs go to a new runner. */
  #retired = false;
  #stderr = '';
  #hello: { resolve(): void; reject(e: Error): void } | undefined;
  /** The runner found no chrt or nice, and no batch job has been warned about yet. */
  #warnNoBatch = false;
  /** Output before the preamble (a login shell's noise), until the preamble is seen. */
  #noise: Buffer | null = Buffer.alloc(0);
  #corrupt: Error | undefined;

  constructor(
    private readonly conn: BastionConnection,
    private readonly remote: RemoteChannel,
    private readonly python: string,
    private readonly log: Logger,
    private readonly onClose: () => void,
  ) {
    this.ready = new Promise<void>((resolve, reject) => {
      this.#hello = { resolve, reject };
    });
    const timer = setTimeout(() => {
      this.#stderr += `\n(no hello within ${HELLO_TIMEOUT_MS} ms)`;
      remote.channel.close();
    }, HELLO_TIMEOUT_MS);
    this.ready.then(
      () => clearTimeout(timer),
      () => clearTimeout(timer),
    );
    this.#reader = new FrameReader((f) => this.#onFrame(f));
    const { channel } = remote;
    channel.on('data', (chunk: Buffer) => {
      try {
        const frames = this.#skipNoise(chunk);
        if (frames) this.#reader.push(frames);
      } catch (e) {
        // Nothing after a corrupt frame can be trusted: end the runner; its jobs are reclaimed.
        this.log.error({ err: toError(e) }, 'job runner stream corrupt, closing it');
        this.#corrupt = toError(e);
        channel.close();
      }
    });
    channel.stderr.on('data', (chunk: Buffer) => {
      this.#stderr = (this.#stderr + chunk.toString('utf8')).slice(-STDERR_TAIL);
    });
    channel.on('error', () => undefined);
    channel.once('close', () => this.#onClose());
  }

  /** The bytes after the preamble, once it was seen; throws when too much came without one. */
  #skipNoise(chunk: Buffer): Buffer | undefined {
    if (this.#noise === null) return chunk;
    const buf = Buffer.concat([this.#noise, chunk]);
    const at = buf.indexOf(PREAMBLE);
    if (at < 0) {
      if (buf.length > MAX_NOISE + PREAMBLE.length)
        throw new Error(
          `no job runner preamble in the first ${MAX_NOISE} bytes: ${JSON.stringify(buf.subarray(0, 200).toString('latin1'))}`,
        );
      this.#noise = buf;
      return undefined;
    }
    if (at > 0)
      this.log.debug({ noise: buf.subarray(0, at).toString() }, 'login shell output skipped');
    this.#noise = null;
    return buf.subarray(at + PREAMBLE.length);
  }

  run(job: RunnerJob): Promise<RunnerResult> {
    const pidFile = `${validateRemoteDir(job.runDir)}/${validateId('command id', job.name)}.pid`;
    if (this.#closed || this.#retired)
      return Promise.reject(new SshConnectionLostError(this.conn.options.host, false));
    const id = this.#nextId++;
    const graceMs = job.killGraceMs ?? 5_000;
    const signal = job.signal;
    return new Promise<RunnerResult>((resolve, reject) => {
      const onAbort = (): void => {
        pending.aborted = true;
        this.#send({ op: 'kill', id, graceMs });
      };
      const done = (): void => {
        signal?.removeEventListener('abort', onAbort);
        this.#pending.delete(id);
      };
      const pending: Pending = {
        job,
        pidFile,
        sent: false,
        pgid: null,
        aborted: false,
        resolve: (r) => (done(), resolve(r)),
        reject: (e) => (done(), reject(e)),
      };
      this.#pending.set(id, pending);
      if (job.batch && this.#warnNoBatch) {
        this.#warnNoBatch = false;
        this.log.warn(
          'job runner: no chrt or nice on the bastion (util-linux, coreutils), so jobCpuPolicy batch is not applied; playbooks run as SCHED_OTHER',
        );
      }
      this.#send({
        op: 'run',
        id,
        argv: job.argv,
        env: job.env,
        cwd: job.cwd,
        pidFile,
        nice: job.nice ?? 0,
        ...(job.batch ? { batch: true } : {}),
        ...(job.vars ? { vars: job.vars } : {}),
        ...(job.workspace ? { workspace: job.workspace } : {}),
      });
      pending.sent = !this.#closed;
      if (pending.sent) quietly(() => job.onSent?.());
      signal?.addEventListener('abort', onAbort, { once: true });
      if (signal?.aborted) onAbort();
    });
  }

  #send(request: Record<string, unknown>): void {
    if (!this.#closed) this.remote.channel.write(encodeRequest(request));
  }

  #onFrame(frame: Frame): void {
    if (frame.type === 'H') {
      const hello = jsonPayload(frame);
      this.pid = typeof hello.pid === 'number' ? hello.pid : undefined;
      this.#warnNoBatch = hello.batch === false;
      this.#hello?.resolve();
      return;
    }
    if (frame.type === 'F' && frame.id === 0 && jsonPayload(frame).runner === 'ending') {
      this.#retire();
      return;
    }
    const p = this.#pending.get(frame.id);
    if (!p) {
      if (frame.type === 'F')
        this.log.warn({ reply: frame.payload.toString() }, 'job runner refused a request');
      return;
    }
    switch (frame.type) {
      case 'O':
        return quietly(() => p.job.onStdout?.(frame.payload));
      case 'E':
        return quietly(() => p.job.onStderr?.(frame.payload));
      case 'S': {
        const pgid = jsonPayload(frame).pgid;
        p.pgid = typeof pgid === 'number' ? pgid : null;
        if (p.pgid !== null) quietly(() => p.job.onStart?.(p.pgid as number));
        return;
      }
      case 'X': {
        const x = jsonPayload(frame);
        // Killed by the runner's own ending (SIGTERM/SIGHUP), not by its own doing or ours.
        if (x.runner === 'ending' && !p.aborted)
          return p.reject(
            new SshConnectionLostError(this.conn.options.host, true, x.groupGone === true),
          );
        return p.resolve({
          kind: 'exited',
          exitCode: typeof x.code === 'number' ? x.code : null,
          exitSignal: typeof x.signal === 'string' ? x.signal : null,
          pgid: p.pgid ?? 0,
          aborted: p.aborted,
        });
      }
      case 'F': {
        const f = jsonPayload(frame);
        // The runner ended before the job left its lock wait: it never ran.
        if (f.runner === 'ending' && !p.aborted)
          return p.reject(new SshConnectionLostError(this.conn.options.host, false));
        return p.resolve({
          kind: 'refused',
          reason: (typeof f.kind === 'string' ? f.kind : 'bad-request') as RunnerRefusal,
          message: typeof f.message === 'string' ? f.message : 'refused',
          aborted: p.aborted,
        });
      }
    }
  }

  /** Once only: a later call would clear the start of the runner that replaced this one. */
  #retire(): void {
    if (this.#retired) return;
    this.#retired = true;
    this.onClose();
  }

  #onClose(): void {
    this.#closed = true;
    this.#retire();
    const host = this.conn.options.host;
    const exit = this.remote.exitStatus();
    if (this.pid === undefined) {
      // A runner that never said hello because of its stream would not do better on a retry.
      this.#hello?.reject(
        this.#corrupt
          ? new BastionCommandError(
              `starting the job runner (${this.python})`,
              null,
              `${this.#stderr}\n${this.#corrupt.message}`,
            )
          : exit === undefined
            ? new SshConnectionLostError(host, false)
            : new BastionCommandError(
                `starting the job runner (${this.python})`,
                exit.code,
                this.#stderr,
              ),
      );
    }
    const pending = [...this.#pending.values()];
    if (exit === undefined) {
      // The connection is gone: the runner's watchdog ends the groups, nobody can reach them from here now.
      // Possibly started once the request was written: the runner spawns before its S frame.
      for (const p of pending) p.reject(new SshConnectionLostError(host, p.sent));
      return;
    }
    if (pending.length > 0 || exit.code !== 0)
      this.log.warn(
        { exit, running: pending.length, stderr: this.#stderr },
        'job runner ended while the connection is up',
      );
    if (pending.length > 0) void this.#reclaim(pending);
  }

  /**
   * The runner died, the connection lives: kill its jobs' groups by their pid
   * files, all in one control command, before failing them. Retryable only for
   * a job whose group was seen and killed (or never sent): one without a pid
   * file may have been spawned just before the runner died, unrecorded.
   */
  async #reclaim(pending: readonly Pending[]): Promise<void> {
    const host = this.conn.options.host;
    let gone = new Set<string>();
    try {
      gone = await killOrphans(
        this.conn,
        pending
          .filter((p) => p.sent)
          .map((p) => ({ pidFile: p.pidFile, graceMs: p.job.killGraceMs ?? 5_000 })),
        pending.flatMap((p) => (p.job.vars ? [p.job.vars.path] : [])),
      );
    } catch (e) {
      this.log.warn({ err: toError(e) }, 'cannot kill the jobs of a dead job runner');
    }
    for (const p of pending)
      p.reject(new SshConnectionLostError(host, p.sent, gone.has(p.pidFile)));
  }
}

/** Waits for `promise`, or rejects with the signal's reason once it aborts. */
function untilAborted<T>(promise: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(toError(signal.reason));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (v) => (signal.removeEventListener('abort', onAbort), resolve(v)),
      (e: unknown) => (signal.removeEventListener('abort', onAbort), reject(toError(e))),
    );
  });
}

/** Runs a caller's callback from inside an event listener, which must never throw. */
function quietly(f: () => void): void {
  try {
    f();
  } catch {
    // the caller's trouble must not take the runner down
  }
}
