/**
 * The executor: registers itself, claims build requests from ZooKeeper while
 * it has free slots, runs them on the bastion over one SSH connection, serves
 * their logs live and reports each result in one transaction.
 *
 * initializing → running ⇄ paused → draining → stopped
 *                      └──────────→ stopping → stopped   (stop(): builds aborted)
 */
import PQueue from 'p-queue';
import type { Logger } from 'pino';
import { AnsibleRunner, BastionConnection, Workspaces } from '../bastion/index.js';
import { IllegalStateError, toError } from '../errors.js';
import { compareRequests, type BuildOutcome, type BuildRequest } from '../model/index.js';
import type { Stored } from '../zk/document.js';
import type { ZkClient, ZkPaths } from '../zk/index.js';
import { type StopWatch, watchChildren, watchData } from '../zk/watch.js';
import {
  BATCH_CLAIMS,
  type Claim,
  type ClaimOptions,
  requestDocument,
  tryClaim,
  tryClaimBatch,
} from './claim.js';
import { type AbortCause, BuildAbortedError } from './errors.js';
import type { BuildLog } from './build-log.js';
import { LogServer } from './log-server.js';
import {
  type ExecutorOptions,
  resolveExecutorOptions,
  type ResolvedExecutorOptions,
} from './options.js';
import { ExecutorRecord } from './record.js';
import { Reporter } from './report.js';
import { BuildRunner } from './run-build.js';

export type ExecutorState =
  'initializing' | 'running' | 'paused' | 'draining' | 'stopping' | 'stopped';

export interface ExecutorDeps {
  readonly zk: ZkClient;
  readonly paths: ZkPaths;
  readonly logger: Logger;
}

/** What the executor tells about a build as it ends; for metrics and tests. */
export interface BuildEndEvent {
  readonly request: BuildRequest;
  readonly outcome: BuildOutcome;
  readonly reported: boolean;
}

interface ActiveBuild {
  readonly claim: Claim;
  readonly logReady: Promise<BuildLog>;
  readonly abort: AbortController;
  readonly log: Logger;
  stopWatch: StopWatch | undefined;
}

export class Executor {
  readonly options: ResolvedExecutorOptions;
  readonly #zk: ZkClient;
  readonly #paths: ZkPaths;
  readonly #log: Logger;
  readonly #conn: BastionConnection;
  readonly #builds: BuildRunner;
  readonly #reporter: Reporter;
  readonly #logs: LogServer;
  readonly #queue: PQueue;
  readonly #active = new Map<string, ActiveBuild>();
  /** Requests seen completed: terminal, never read again while they exist. */
  #completed = new Set<string>();
  /**
   * Requests last read as claimable, with their versions: a claim writes over
   * that version, so a stale entry costs one failed transaction and a read.
   */
  #claimable = new Map<string, Stored<BuildRequest>>();
  /** The requests directory as its watch last listed it; undefined: list it. */
  #listing: string[] | undefined;
  readonly #idleWaiters = new Set<() => void>();
  readonly #endListeners = new Set<(e: BuildEndEvent) => void>();
  #state: ExecutorState = 'initializing';
  readonly #record: ExecutorRecord;
  #stopWatch: StopWatch | undefined;
  #unlisten: (() => void) | undefined;
  #rescan: NodeJS.Timeout | undefined;
  #scanning: Promise<void> | undefined;
  #scanAgain = false;
  #starting: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ExecutorOptions, deps: ExecutorDeps) {
    this.options = resolveExecutorOptions(options);
    this.#zk = deps.zk;
    this.#paths = deps.paths;
    this.#log = deps.logger.child({ component: 'executor' });
    const o = this.options;
    this.#conn = new BastionConnection(o.bastion, deps.logger);
    const workspaces = new Workspaces(this.#conn, {
      root: o.workspaceRoot,
      keepWorkspaces: o.keepWorkspaces,
      killGraceMs: o.killGraceMs,
    });
    const runner = new AnsibleRunner(this.#conn, workspaces, {
      killGraceMs: o.killGraceMs,
      jobNice: o.jobNice,
      jobCpuPolicy: o.jobCpuPolicy,
      python: o.runnerPython,
      logger: deps.logger,
      ...(o.ansiblePlaybook === undefined ? {} : { ansiblePlaybook: o.ansiblePlaybook }),
    });
    this.#builds = new BuildRunner({
      workspaces,
      runner,
      source: o.source,
      logRoot: o.logRoot,
      executorId: () => this.id ?? '(unregistered)',
    });
    this.#reporter = new Reporter(this.#zk, this.#paths);
    this.#logs = new LogServer(this.#log, o.recentLogs);
    this.#record = new ExecutorRecord(this.#log, () => ({
      // The registry has no 'stopping': a stopping executor shows as draining.
      state: this.#state === 'stopping' ? 'draining' : this.#state,
      extra: {
        slots: o.slots,
        slotsInUse: this.#active.size,
        logStream: this.#logs.url ?? null,
        bastion: `${o.bastion.host}:${o.bastion.port ?? 22}`,
        stopping: this.#state === 'stopping',
      },
    }));
    this.#queue = new PQueue({ concurrency: o.slots });
  }

  get state(): ExecutorState {
    return this.#state;
  }
  /** The registry node name; also what claimed requests carry in `executor`. */
  get id(): string | undefined {
    return this.#record.id;
  }
  /** Base URL of the live log server, once started. */
  get logStreamUrl(): string | undefined {
    return this.#logs.url;
  }
  /** Ids of the requests this executor is running now. */
  get running(): string[] {
    return [...this.#active.keys()];
  }
  get bastion(): BastionConnection {
    return this.#conn;
  }

  /** Called after every build with its outcome and whether it was reported. Returns an unsubscribe. */
  onBuildEnd(listener: (e: BuildEndEvent) => void): () => void {
    this.#endListeners.add(listener);
    return () => this.#endListeners.delete(listener);
  }

  /** Connects, registers and starts claiming. */
  start(): Promise<void> {
    if (this.#starting || this.#state !== 'initializing')
      throw new IllegalStateError('executor', this.#state, 'start');
    this.#starting = this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    const o = this.options;
    try {
      await this.#zk.mkdirp(this.#paths.buildRequests());
      await this.#zk.mkdirp(this.#paths.buildLocks());
      await this.#logs.listen(o.logStream.host, o.logStream.port);
      await this.#conn.start();
      await this.#record.register(this.#zk, this.#paths.components('executor'), o.version);
    } catch (e) {
      await this.#teardown();
      this.#state = 'stopped';
      throw toError(e);
    }
    if (this.#closing) return; // stop() was called while starting
    this.#to('running', 'finish starting');
    this.#log.info({ id: this.id, slots: o.slots, logStream: this.#logs.url }, 'executor running');
    this.#record.publish();
    this.#unlisten = this.#zk.addListener({
      onNewSession: () => this.#requestScan(true),
      onState: (s) => s === 'connected' && this.#requestScan(true),
    });
    // The watch's own listing feeds the scans: a scan after a build ends lists nothing.
    this.#stopWatch = watchChildren(
      this.#zk,
      this.#paths.buildRequests(),
      (names) => {
        this.#listing = names ?? [];
        this.#requestScan();
      },
      {
        onError: (err) => {
          this.#listing = undefined;
          this.#log.debug({ err }, 'request watch error');
        },
      },
    );
    this.#rescan = setInterval(() => this.#requestScan(true), o.rescanIntervalMs);
  }

  /** Stops claiming; running builds continue. */
  async pause(): Promise<void> {
    this.#to('paused', 'pause', ['running']);
    this.#log.info({ state: 'paused' }, 'executor paused');
    await this.#record.flush();
  }

  async resume(): Promise<void> {
    this.#to('running', 'resume', ['paused']);
    this.#log.info({ state: 'running' }, 'executor resumed');
    this.#requestScan();
    await this.#record.flush();
  }

  /** Graceful stop: no new claims, running builds finish and report, then deregister. */
  drain(): Promise<void> {
    if (this.#closing) return this.#closing;
    this.#to('draining', 'drain', ['running', 'paused']);
    this.#log.info({ state: 'draining', running: this.#active.size }, 'executor draining');
    this.#closing = this.#close();
    return this.#closing;
  }

  /**
   * Abort: running builds are killed on the bastion and reported ABORTED
   * (retryable), then deregister. Idempotent; escalates a drain in progress.
   */
  stop(): Promise<void> {
    if (this.#state === 'stopping' || this.#state === 'stopped')
      return this.#closing ?? Promise.resolve();
    const wasDraining = this.#state === 'draining';
    this.#state = 'stopping';
    this.#log.info({ state: 'stopping', running: this.#active.size }, 'executor stopping');
    for (const [, build] of this.#active) this.#abort(build, 'stop', 'executor stopping');
    if (!wasDraining) {
      const starting = this.#starting ?? Promise.resolve();
      this.#closing = starting.catch(() => undefined).then(() => this.#close());
    }
    return this.#closing ?? Promise.resolve();
  }

  async #close(): Promise<void> {
    this.#stopClaiming();
    this.#record.publish();
    // A claim in flight may still launch a build: let the scan finish first.
    await this.#scanning;
    await this.#idle();
    await this.#queue.onIdle();
    await this.#teardown();
    this.#state = 'stopped';
    this.#log.info({ state: 'stopped' }, 'executor stopped');
  }

  #stopClaiming(): void {
    clearInterval(this.#rescan);
    this.#stopWatch?.();
    this.#unlisten?.();
  }

  async #teardown(): Promise<void> {
    await this.#record.unregister();
    await this.#logs.close();
    if (this.#conn.state !== 'idle' || this.#starting)
      await this.#conn.close().catch(() => undefined);
  }

  // ---- claiming -------------------------------------------------------

  /** Coalesced: one scan at a time, and one more if asked for meanwhile. `list`: list afresh. */
  #requestScan(list = false): void {
    if (list) this.#listing = undefined;
    this.#scanAgain = true;
    this.#scanning ??= this.#scanLoop().finally(() => (this.#scanning = undefined));
  }

  async #scanLoop(): Promise<void> {
    while (this.#scanAgain) {
      this.#scanAgain = false;
      await this.#scan().catch((e: unknown) =>
        this.#log.warn({ err: toError(e) }, 'scan for build requests failed'),
      );
    }
  }

  #free(): number {
    return this.options.slots - this.#active.size;
  }

  async #scan(): Promise<void> {
    if (this.#state !== 'running' || this.#free() <= 0) return;
    const ids = this.#listing ?? (await this.#zk.children(this.#paths.buildRequests()));
    // Names starting with "." are the documents' shard storage, not requests.
    const present = new Set(ids.filter((id) => !id.startsWith('.')));
    this.#completed = new Set([...this.#completed].filter((id) => present.has(id)));
    for (const id of this.#claimable.keys()) if (!present.has(id)) this.#claimable.delete(id);
    // Without the cache a burst of n requests costs n²/2 reads, one per request per scan.
    const unknown = [...present].filter(
      (id) => !this.#active.has(id) && !this.#completed.has(id) && !this.#claimable.has(id),
    );
    const read = await Promise.all(
      unknown.map(async (id) => {
        try {
          return await requestDocument(this.#zk, this.#paths, id).readStored();
        } catch (e) {
          this.#log.debug({ err: toError(e), request: id }, 'unreadable build request skipped');
          return null;
        }
      }),
    );
    for (const stored of read) {
      const r = stored?.value;
      if (r?.state === 'completed') this.#completed.add(r.id);
      else if (r?.state === 'requested' && !r.cancelRequested) this.#claimable.set(r.id, stored!);
    }
    const queue = [...this.#claimable.values()].sort((a, b) => compareRequests(a.value, b.value));
    // The head of the queue, as many as there are free slots, in one transaction: a
    // fan-out's claims no longer queue behind each other in ZooKeeper.
    const batch = queue.slice(0, Math.min(this.#free(), BATCH_CLAIMS));
    if (this.#state === 'running' && batch.length > 1) {
      for (const known of batch) this.#claimable.delete(known.value.id);
      const claims = await tryClaimBatch(batch, this.#claimOptions());
      if (claims !== null) {
        queue.splice(0, batch.length);
        for (const claim of claims) this.#launch(claim);
      }
    }
    // What is left (all of it if the batch did not commit), one claim per free slot at a
    // time, in parallel: claimed one by one, the 15th child of a fan-out waited for 14 claims.
    const lanes = this.#state === 'running' ? Math.min(this.#free(), queue.length) : 0;
    await Promise.all(Array.from({ length: lanes }, () => this.#claimNext(queue)));
  }

  #claimOptions(): ClaimOptions {
    return {
      client: this.#zk,
      paths: this.#paths,
      executorId: this.id ?? '',
      now: Date.now,
      // Each lane holds one of the slots that were free when the scan began.
      stillClaiming: () => this.#state === 'running',
      onLockLost: (id, err) => {
        const build = this.#active.get(id);
        if (build) this.#abort(build, 'lock-lost', err.message);
      },
    };
  }

  /** Tries the queue's requests in order until one is claimed (and launched) or none is left. */
  async #claimNext(queue: Stored<BuildRequest>[]): Promise<void> {
    for (let known = queue.shift(); known !== undefined; known = queue.shift()) {
      if (this.#state !== 'running') return;
      const r = known.value;
      this.#claimable.delete(r.id);
      const result = await tryClaim(r.id, this.#claimOptions(), known);
      if (result.claimed) return this.#launch(result.claim);
      this.#log.debug({ request: r.id, why: result.why }, 'request not claimed');
    }
  }

  // ---- running ----------------------------------------------------------

  #launch(claim: Claim): void {
    const r = claim.request;
    const log = this.#log.child({ buildset: r.buildsetId, job: r.job, build: r.id });
    // Readable on the live server before anyone can see the request RUNNING and ask.
    const logReady = this.#builds.openLog(r);
    logReady.catch(() => undefined); // the build itself reports why
    this.#logs.add(r.id, logReady);
    const build: ActiveBuild = {
      claim,
      logReady,
      abort: new AbortController(),
      log,
      stopWatch: undefined,
    };
    this.#active.set(r.id, build);
    log.info({ kind: r.kind, attempt: r.attempt }, 'build claimed');
    this.#record.publish();
    // Lost before we watched: the lock listener could not find the build yet.
    if (claim.lock.signal?.aborted !== false) this.#abort(build, 'lock-lost', 'lock lost at claim');
    // Claimed while stop() was aborting the others.
    if (this.#state === 'stopping') this.#abort(build, 'stop', 'executor stopping');
    build.stopWatch = watchData(
      this.#zk,
      this.#paths.buildRequest(r.id),
      // Decoded from the watch's own read; a sharded value is read whole.
      async (snap) => {
        const doc = requestDocument(this.#zk, this.#paths, r.id);
        const current = snap && (doc.fromSnapshot(snap) ?? (await doc.read()));
        if (!current) this.#abort(build, 'cancel', 'request deleted');
        else if (current.value.cancelRequested) this.#abort(build, 'cancel', 'cancel requested');
      },
      { onError: (err) => log.debug({ err }, 'request watch error') },
    );
    this.#queue
      .add(() => this.#runAndReport(build))
      .catch((e: unknown) => log.error({ err: toError(e) }, 'build failed unexpectedly'));
  }

  #abort(build: ActiveBuild, why: AbortCause, detail: string): void {
    if (build.abort.signal.aborted) return;
    build.log.info({ why, detail }, 'aborting build');
    build.abort.abort(new BuildAbortedError(why, detail));
  }

  async #runAndReport(build: ActiveBuild): Promise<void> {
    const { claim, abort, log } = build;
    const id = claim.request.id;
    let outcome: BuildOutcome | undefined;
    let reported = false;
    try {
      outcome = await this.#builds.run({
        request: claim.request,
        signal: abort.signal,
        logger: log,
        log: build.logReady,
      });
      build.stopWatch?.();
      const reason: unknown = abort.signal.reason;
      if (reason instanceof BuildAbortedError && reason.why === 'lock-lost') {
        log.warn(
          { result: outcome.result },
          'build lock lost: result dropped, a scheduler retries',
        );
      } else {
        const r = await this.#reporter.report(claim, outcome);
        reported = r.reported;
        if (r.reported) log.info({ result: outcome.result, event: r.eventId }, 'build reported');
        else log.warn({ result: outcome.result, why: r.why }, 'build result dropped');
      }
    } catch (e) {
      log.warn({ err: toError(e) }, 'reporting the build failed; result dropped');
    } finally {
      build.stopWatch?.();
      // A no-op once the report gave the lease back in its transaction.
      await claim.lock.release().catch(() => undefined);
      this.#active.delete(id);
      if (reported) this.#completed.add(id);
      if (outcome) this.#emitEnd({ request: claim.request, outcome, reported });
      this.#record.publish();
      if (this.#active.size === 0) for (const w of [...this.#idleWaiters]) w();
      this.#requestScan();
    }
  }

  #idle(): Promise<void> {
    if (this.#active.size === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.#idleWaiters.delete(done);
        resolve();
      };
      this.#idleWaiters.add(done);
    });
  }

  #emitEnd(e: BuildEndEvent): void {
    for (const l of [...this.#endListeners]) {
      try {
        l(e);
      } catch (err) {
        this.#log.warn({ err: toError(err) }, 'build end listener threw');
      }
    }
  }

  #to(next: ExecutorState, action: string, from?: readonly ExecutorState[]): void {
    if (from ? !from.includes(this.#state) : this.#state !== 'initializing')
      throw new IllegalStateError('executor', this.#state, action);
    this.#state = next;
  }
}
