/**
 * A rolling restart: the components of one kind are asked to drain one at a
 * time through their control request; after each has deregistered, the
 * driver waits for a new component of that kind to be registered and
 * running (its supervisor's restart) before it asks the next. The last
 * running component of the kind is never asked while no other runs.
 *
 * The driver is whoever calls startRollingRestart (the CLI, or web for the
 * REST action): it holds <root>/locks/rolling-restart for the whole operation
 * and rewrites the record at <root>/admin/rolling-restart at every step. It
 * re-checks the lock before each drain and record write, and fails if lost.
 * Single scheduler drains (components.ts) take the same lock to decide.
 */
import { randomBytes } from 'node:crypto';
import { DrawbridgeError, toError } from '../errors.js';
import type { ZkClient } from '../zk/client.js';
import { ZkMutex } from '../zk/lock.js';
import type { ZkPaths } from '../zk/paths.js';
import { listComponents, type RegisteredComponent } from '../zk/registry.js';
import { decodeAt } from '../zk/codec.js';
import { clearControlRequest, hasPendingDrain, sendControlRequest } from './control.js';
import {
  OpsBusyError,
  OpsCanceledError,
  OpsLastComponentError,
  OpsLockLostError,
  OpsTimeoutError,
} from './errors.js';
import {
  readRollingRestart,
  rollingRestartCodec,
  rollingRestartLock,
  writeRollingRestart,
  type RestartKind,
  type RestartStep,
  type RollingRestartRecord,
} from './rolling-restart-record.js';

export interface RollingRestartOptions {
  readonly kind: RestartKind;
  /** Who asked, for the record and the components' logs ("cli (alice)"). */
  readonly requestedBy: string;
  /** How long one component may take to drain, and then to be replaced (ms). */
  readonly timeoutMs: number;
  /** How often registrations are read while waiting (ms); default 200. */
  readonly pollMs?: number;
  /** Called after every change of the record and at every poll while waiting. */
  readonly onProgress?: (progress: RollingRestartProgress) => void;
  /** Aborting cancels the operation (the component draining now still drains). */
  readonly signal?: AbortSignal;
}

export interface RollingRestartProgress {
  readonly record: RollingRestartRecord;
  /** What the driver waits for now, or null between waits. */
  readonly waitingFor: string | null;
  /** Since the current wait began (ms). */
  readonly waitedMs: number;
}

export interface RollingRestartHandle {
  readonly id: string;
  /** The record as first written: every step pending. */
  readonly record: RollingRestartRecord;
  /** Settles with the final record (succeeded or failed); never rejects. */
  readonly done: Promise<RollingRestartRecord>;
}

/**
 * Checks the guard, takes the operation lock and writes the first record;
 * then the restart goes on in the background (`done`). Throws OpsBusyError
 * or OpsLastComponentError without changing anything.
 */
export async function startRollingRestart(
  zk: ZkClient,
  paths: ZkPaths,
  options: RollingRestartOptions,
): Promise<RollingRestartHandle> {
  await Promise.all([zk.mkdirp(rollingRestartLock(paths)), zk.mkdirp(paths.controlRequests())]);
  const lost = new AbortController();
  const lock = new ZkMutex(zk, rollingRestartLock(paths), {
    data: Buffer.from(options.requestedBy),
    onLost: (err) => lost.abort(err),
  });
  if (!(await lock.tryAcquire())) throw await busyError(zk, paths);
  try {
    const all = await listComponents(zk, paths.components(options.kind));
    const running = await runningWithoutDrain(zk, paths, all);
    if (running.length < 2) {
      const only = running[0]?.id ?? `(no running ${options.kind})`;
      throw new OpsLastComponentError(
        options.kind,
        only,
        `a rolling restart needs at least two running, found ${running.length}; start another first`,
      );
    }
    const now = new Date().toISOString();
    const record: RollingRestartRecord = {
      id: `rr-${now.replace(/[-:.]/g, '').slice(0, 15)}-${randomBytes(3).toString('hex')}`,
      kind: options.kind,
      state: 'running',
      requestedBy: options.requestedBy,
      startedAt: now,
      updatedAt: now,
      endedAt: null,
      timeoutMs: options.timeoutMs,
      // Oldest first: the longest-running process is the most likely to run old code.
      steps: [...running]
        .sort((a, b) => a.startedAt.localeCompare(b.startedAt) || a.id.localeCompare(b.id))
        .map((c) => ({
          component: c.id,
          hostname: c.hostname,
          pid: c.pid,
          state: 'pending',
          replacement: null,
          startedAt: null,
          endedAt: null,
        })),
      message: `restarting ${running.length} ${options.kind}s one at a time`,
      error: null,
    };
    if (!(await lock.isStillValid())) throw new OpsLockLostError(record.id);
    await writeRollingRestart(zk, paths, record);
    const driver = new Driver(zk, paths, options, record, new Set(all.map((c) => c.id)), {
      lock,
      lost: lost.signal,
    });
    const done = driver.run().finally(() => lock.release().catch(() => undefined));
    return { id: record.id, record, done };
  } catch (e) {
    await lock.release().catch(() => undefined);
    throw toError(e);
  }
}

/** Why the operation lock is taken: a running rolling restart, or a scheduler drain being sent. */
export async function busyError(zk: ZkClient, paths: ZkPaths): Promise<OpsBusyError> {
  const current = await readRollingRestart(zk, paths).catch(() => null);
  if (current?.state === 'running' && current.driverAlive) return new OpsBusyError(current.id);
  return new OpsBusyError(
    null,
    `another operator holds ${rollingRestartLock(paths)} (a rolling restart starting, ` +
      'or a scheduler drain being sent); try again in a moment',
  );
}

/**
 * The components in state `running` with no drain pending at their control
 * node: the ones that will still run. Only meaningful under the operation lock.
 */
export async function runningWithoutDrain(
  zk: ZkClient,
  paths: ZkPaths,
  all: readonly RegisteredComponent[],
): Promise<RegisteredComponent[]> {
  const running = all.filter((c) => c.state === 'running');
  const pending = await Promise.all(running.map((c) => hasPendingDrain(zk, paths, c.id)));
  return running.filter((_, i) => !pending[i]);
}

class Driver {
  readonly #pollMs: number;
  #waitingFor: string | null = null;
  #waitStart = 0;

  constructor(
    private readonly zk: ZkClient,
    private readonly paths: ZkPaths,
    private readonly options: RollingRestartOptions,
    private record: RollingRestartRecord,
    /** Every component id seen so far: a replacement is one not in here. */
    private readonly known: Set<string>,
    private readonly held: { readonly lock: ZkMutex; readonly lost: AbortSignal },
  ) {
    this.#pollMs = options.pollMs ?? 200;
  }

  async run(): Promise<RollingRestartRecord> {
    let index = 0;
    try {
      for (; index < this.record.steps.length; index++) await this.#step(index);
      return await this.#save({ state: 'succeeded', message: this.#summary('restarted') });
    } catch (e) {
      const err = toError(e);
      const error =
        err instanceof DrawbridgeError
          ? { code: err.code, message: err.message }
          : { code: 'DRAWBRIDGE_ERR_OPS_FAILED', message: err.message };
      if (index < this.record.steps.length) this.#setStep(index, { state: 'failed' });
      return await this.#saveFailed({ state: 'failed', message: error.message, error });
    }
  }

  /** Throws OpsLockLostError unless the operation lock is still ours (a round trip). */
  async #assertLock(): Promise<void> {
    if (this.held.lost.aborted || !(await this.held.lock.isStillValid()))
      throw new OpsLockLostError(this.record.id);
  }

  /**
   * The final write of a failed operation. Without the lock, it is written only
   * if the record is still ours, unchanged since read: a new driver's record stays.
   */
  async #saveFailed(change: Partial<RollingRestartRecord>): Promise<RollingRestartRecord> {
    const local = (): RollingRestartRecord => {
      const now = new Date().toISOString();
      this.record = { ...this.record, ...change, updatedAt: now, endedAt: now };
      return this.record;
    };
    try {
      if (await this.held.lock.isStillValid()) return await this.#save(change);
      const { data, stat } = await this.zk.get(this.paths.rollingRestart());
      const stored = decodeAt(rollingRestartCodec, this.paths.rollingRestart(), data);
      if (stored.id !== this.record.id) return local();
      const record = local();
      await this.zk.set(
        this.paths.rollingRestart(),
        rollingRestartCodec.encode(record),
        stat.version,
      );
      this.#progress();
      return record;
    } catch {
      return local();
    }
  }

  async #step(index: number): Promise<void> {
    const step = this.record.steps[index]!;
    const { kind, timeoutMs } = this.options;
    const self = await this.#component(step.component);
    if (self === undefined) {
      this.#setStep(index, { state: 'gone', endedAt: new Date().toISOString() });
      await this.#save({ message: `${step.component} is gone already; next` });
      return;
    }
    // The last-component guard: someone else must be running before this one stops.
    const other = await this.#waitFor(
      `another running ${kind} before draining ${step.component}`,
      async () => (await this.#running()).find((c) => c.id !== step.component),
    ).catch((e: unknown) => {
      if (!(e instanceof OpsTimeoutError)) throw e;
      throw new OpsLastComponentError(
        kind,
        step.component,
        `no other ${kind} came up within ${timeoutMs / 1000} s; it was not drained`,
      );
    });
    this.#setStep(index, { state: 'draining', startedAt: new Date().toISOString() });
    await this.#save({
      message: `draining ${step.component} (${other.id} keeps running)`,
    });
    await this.#assertLock();
    await sendControlRequest(this.zk, this.paths, step.component, {
      action: 'drain',
      id: `${this.record.id}/${index + 1}`,
      requestedBy: `rolling restart ${this.record.id} (${this.options.requestedBy})`,
    });
    await this.#waitFor(`${step.component} to finish draining and deregister`, async () =>
      (await this.#component(step.component)) === undefined ? true : undefined,
    ).catch((e: unknown) => {
      if (!(e instanceof OpsTimeoutError)) throw e;
      throw new OpsTimeoutError(step.component, timeoutMs, 'did not finish draining');
    });
    await this.#assertLock();
    await clearControlRequest(this.zk, this.paths, step.component);
    this.#setStep(index, { state: 'replacing' });
    await this.#save({ message: `${step.component} drained; waiting for its replacement` });
    const replacement = await this.#waitFor(
      `a new ${kind} to replace ${step.component}`,
      async () => (await this.#running()).find((c) => !this.known.has(c.id)),
    ).catch((e: unknown) => {
      if (!(e instanceof OpsTimeoutError)) throw e;
      throw new OpsTimeoutError(
        step.component,
        timeoutMs,
        `drained, but no new ${kind} was registered and running ` +
          '(is it supervised? systemd Restart=, or drawbridge ' +
          `${kind} --supervise); the remaining ${kind}s were not touched`,
      );
    });
    this.known.add(replacement.id);
    this.#setStep(index, {
      state: 'done',
      replacement: replacement.id,
      endedAt: new Date().toISOString(),
    });
    await this.#save({ message: `${step.component} replaced by ${replacement.id}` });
  }

  async #running(): Promise<RegisteredComponent[]> {
    const all = await listComponents(this.zk, this.paths.components(this.options.kind));
    return runningWithoutDrain(this.zk, this.paths, all);
  }

  async #component(id: string): Promise<RegisteredComponent | undefined> {
    const all = await listComponents(this.zk, this.paths.components(this.options.kind));
    return all.find((c) => c.id === id);
  }

  /** Polls `check` until it returns a value; OpsTimeoutError after timeoutMs. */
  async #waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
    const { signal, timeoutMs } = this.options;
    this.#waitingFor = what;
    this.#waitStart = Date.now();
    try {
      for (;;) {
        if (signal?.aborted) throw new OpsCanceledError(String(signal.reason ?? 'aborted'));
        if (this.held.lost.aborted) throw new OpsLockLostError(this.record.id);
        const value = await check();
        if (value !== undefined) return value;
        const waited = Date.now() - this.#waitStart;
        if (waited > timeoutMs) throw new OpsTimeoutError(what, timeoutMs, 'not reached');
        this.#progress();
        await new Promise((resolve) => setTimeout(resolve, this.#pollMs));
      }
    } finally {
      this.#waitingFor = null;
    }
  }

  #setStep(index: number, change: Partial<RestartStep>): void {
    const steps = this.record.steps.map((s, i) => (i === index ? { ...s, ...change } : s));
    this.record = { ...this.record, steps };
  }

  async #save(change: Partial<RollingRestartRecord>): Promise<RollingRestartRecord> {
    const now = new Date().toISOString();
    const ended = change.state !== undefined && change.state !== 'running';
    this.record = {
      ...this.record,
      ...change,
      updatedAt: now,
      ...(ended ? { endedAt: now } : {}),
    };
    await this.#assertLock();
    await writeRollingRestart(this.zk, this.paths, this.record);
    this.#progress();
    return this.record;
  }

  #progress(): void {
    try {
      this.options.onProgress?.({
        record: this.record,
        waitingFor: this.#waitingFor,
        waitedMs: this.#waitingFor === null ? 0 : Date.now() - this.#waitStart,
      });
    } catch {
      // A listener's failure must not stop the restart.
    }
  }

  #summary(verb: string): string {
    const done = this.record.steps.filter((s) => s.state === 'done').length;
    const gone = this.record.steps.length - done;
    return `${verb} ${done} ${this.options.kind}(s)${gone > 0 ? `, ${gone} already gone` : ''}`;
  }
}
