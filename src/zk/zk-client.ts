/**
 * ZkClient over node-zookeeper-client. One instance owns a sequence of
 * sessions: when one is lost (server said expired, or the session timeout
 * passed while disconnected) it is abandoned and a fresh one is opened, and
 * `onNewSession` listeners re-create what they owned.
 */
import { randomUUID } from 'node:crypto';
import { IllegalStateError, toError } from '../errors.js';
import type {
  ConnectionState,
  CreateOptions,
  SessionListener,
  Stat,
  TxOp,
  Watcher,
  ZkClient,
} from './client.js';
import {
  ZkConnectionLossError,
  ZkInvalidPathError,
  ZkNodeExistsError,
  ZkNoNodeError,
  ZkNotEmptyError,
  ZkSessionLostError,
  ZkTimeoutError,
} from './errors.js';
import { type Session, SessionDriver, type ZkLogger } from './zk-session.js';
import {
  type DigestAuth,
  type NativeClient,
  type NativeEvent,
  type NativeStat,
  nativeMode,
  toStat,
  toWatchEvent,
  translate,
} from './zk-native.js';

export type { ZkLogger } from './zk-session.js';
export type { DigestAuth } from './zk-native.js';

export interface ZooKeeperClientOptions {
  /** `host:port[,host:port...][/chroot]`; the chroot is created if missing. */
  readonly connectString: string;
  /** Requested session timeout; the server may negotiate it. Default 10 000 ms. */
  readonly sessionTimeoutMs?: number;
  /** Upper bound of the random pause between reconnect attempts. Default 250 ms. */
  readonly reconnectDelayMs?: number;
  /** Digest identity: every node is created with an ACL for it. */
  readonly auth?: DigestAuth;
  readonly logger?: ZkLogger;
}

type Callback<T> = (err: unknown, value?: T) => void;

export class ZooKeeperClient implements ZkClient {
  private readonly driver: SessionDriver;
  private readonly chroot: string;
  private closing: Promise<void> | undefined;

  constructor(options: ZooKeeperClientOptions) {
    const { servers, chroot } = parseConnectString(options.connectString);
    this.chroot = chroot;
    this.driver = new SessionDriver({
      servers,
      chroot,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      spinDelayMs: options.reconnectDelayMs ?? 250,
      auth: options.auth,
      logger: options.logger,
    });
  }

  /** Starts connecting; see `waitConnected`. Idempotent. */
  start(): this {
    this.driver.start();
    return this;
  }

  get state(): ConnectionState {
    return this.driver.state;
  }
  get sessionId(): string | undefined {
    return this.driver.sessionId;
  }
  get sessionTimeoutMs(): number {
    return this.driver.sessionTimeoutMs;
  }
  /** Id and password of the current session (tests use them to expire it from outside). */
  sessionCredentials(): { id: Buffer; password: Buffer } | undefined {
    return this.driver.credentials();
  }

  /**
   * Drops the TCP connection as a network fault would; the library
   * reconnects to the same session. For tests and chaos drills.
   */
  simulateConnectionLoss(): void {
    this.driver.dropConnection();
  }

  addListener(listener: SessionListener): () => void {
    return this.driver.addListener(listener);
  }

  async waitConnected(options: { timeoutMs?: number; signal?: AbortSignal } = {}): Promise<void> {
    await this.driver.waitFor(
      () => this.driver.state === 'connected',
      'a ZooKeeper connection',
      options,
    );
  }

  async create(path: string, data?: Buffer, options: CreateOptions = {}): Promise<string> {
    const full = this.abs(path);
    const mode = nativeMode(options.mode);
    if (options.protected) return this.createProtected(full, data, options.mode ?? 'persistent');
    const created = await this.call<string>(path, (n, cb) =>
      n.create(full, data ?? Buffer.alloc(0), this.driver.acls, mode, cb),
    );
    return this.rel(created);
  }

  async mkdirp(path: string): Promise<void> {
    this.abs(path);
    if (path === '/' || (await this.exists(path)) !== null) return;
    await this.retrying(async () => {
      const parts = path.split('/').slice(1);
      for (let i = 1; i <= parts.length; i++) {
        const rel = `/${parts.slice(0, i).join('/')}`;
        const full = this.abs(rel);
        await this.call<string>(rel, (n, cb) =>
          n.create(full, Buffer.alloc(0), this.driver.acls, nativeMode('persistent'), cb),
        ).catch((e: unknown) => {
          if (!(e instanceof ZkNodeExistsError)) throw e;
        });
      }
    });
  }

  async get(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: Stat }> {
    const full = this.abs(path);
    return this.retrying(() =>
      this.call<{ data: Buffer; stat: Stat }>(path, (n, cb) => {
        const done = (err: unknown, data?: Buffer, stat?: NativeStat) =>
          cb(err, stat ? { data: data ?? Buffer.alloc(0), stat: toStat(stat) } : undefined);
        if (watcher) n.getData(full, this.wrap(watcher), done);
        else n.getData(full, done);
      }),
    );
  }

  async set(path: string, data: Buffer, version = -1): Promise<Stat> {
    const full = this.abs(path);
    const stat = await this.call<NativeStat>(path, (n, cb) => n.setData(full, data, version, cb));
    return toStat(stat);
  }

  async exists(path: string, watcher?: Watcher): Promise<Stat | null> {
    const full = this.abs(path);
    return this.retrying(() =>
      this.call<Stat | null>(path, (n, cb) => {
        const done = (err: unknown, stat?: NativeStat | null) =>
          cb(err, stat ? toStat(stat) : null);
        if (watcher) n.exists(full, this.wrap(watcher), done);
        else n.exists(full, done);
      }),
    );
  }

  async children(path: string, watcher?: Watcher): Promise<string[]> {
    const full = this.abs(path);
    return this.retrying(() =>
      this.call<string[]>(path, (n, cb) => {
        if (watcher) n.getChildren(full, this.wrap(watcher), (e, c) => cb(e, c));
        else n.getChildren(full, (e, c) => cb(e, c));
      }),
    );
  }

  async delete(path: string, version = -1): Promise<void> {
    const full = this.abs(path);
    await this.call<void>(path, (n, cb) => n.remove(full, version, cb));
  }

  async deleteRecursive(path: string): Promise<void> {
    this.abs(path);
    await this.retrying(async () => {
      for (;;) {
        let kids: string[];
        try {
          kids = await this.children(path);
        } catch (e) {
          if (e instanceof ZkNoNodeError) return;
          throw e;
        }
        const base = path === '/' ? '' : path;
        for (const kid of kids) await this.deleteRecursive(`${base}/${kid}`);
        if (path === '/') return;
        try {
          await this.delete(path);
          return;
        } catch (e) {
          if (e instanceof ZkNoNodeError) return;
          // Someone added a child meanwhile: go round again.
          if (!(e instanceof ZkNotEmptyError)) throw e;
        }
      }
    });
  }

  async transaction(ops: readonly TxOp[]): Promise<string[]> {
    const full = ops.map((op) => ({ ...op, path: this.abs(op.path) }));
    const results = await this.call<{ path?: string }[]>(undefined, (n, cb) =>
      this.driver.commit(
        n,
        full,
        cb,
        ops.map((op) => op.path),
      ),
    );
    return results.flatMap((r, i) => (ops[i]?.op === 'create' && r.path ? [this.rel(r.path)] : []));
  }

  close(): Promise<void> {
    this.closing ??= this.driver.close();
    return this.closing;
  }

  // ---- internals -------------------------------------------------------

  /**
   * One request on the current session. A lost session rejects it with
   * ZkSessionLostError even if the library never answers.
   */
  private call<T>(
    path: string | undefined,
    fn: (n: NativeClient, cb: Callback<T>) => void,
  ): Promise<T> {
    const session = this.driver.usable('run an operation');
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const abort = (e: Error) => settle(() => reject(e));
      function settle(f: () => void): void {
        if (settled) return;
        settled = true;
        session.pending.delete(abort);
        f();
      }
      session.pending.add(abort);
      try {
        fn(session.native, (err, value) => {
          if (err) settle(() => reject(translate(err, path)));
          else settle(() => resolve(value as T));
        });
      } catch (e) {
        settle(() => reject(translate(e, path)));
      }
    });
  }

  /**
   * Runs an idempotent operation again after a connection loss, as long as
   * the session survives; the session's loss ends the attempts.
   */
  private async retrying<T>(op: () => Promise<T>): Promise<T> {
    for (;;) {
      const session = this.driver.usable('run an operation');
      try {
        return await op();
      } catch (e) {
        if (!(e instanceof ZkConnectionLossError)) throw e;
        await this.waitSameSession(session);
      }
    }
  }

  private async waitSameSession(session: Session): Promise<void> {
    await this.driver.waitFor(() => {
      if (session.retired) throw new ZkSessionLostError();
      return this.driver.current === session && this.driver.state === 'connected';
    }, 'the ZooKeeper connection to come back');
  }

  /**
   * Create under a unique name prefix; after a connection loss, look for our
   * node among the parent's children rather than risk a second one.
   */
  private async createProtected(
    full: string,
    data: Buffer | undefined,
    mode: NonNullable<CreateOptions['mode']>,
  ): Promise<string> {
    const slash = full.lastIndexOf('/');
    const parent = full.slice(0, slash) || '/';
    const prefix = `_c_${randomUUID()}-`;
    const target = `${full.slice(0, slash)}/${prefix}${full.slice(slash + 1)}`;
    for (;;) {
      const session = this.driver.usable('create a node');
      try {
        const created = await this.call<string>(target, (n, cb) =>
          n.create(target, data ?? Buffer.alloc(0), this.driver.acls, nativeMode(mode), cb),
        );
        return this.rel(created);
      } catch (e) {
        if (!(e instanceof ZkConnectionLossError)) throw e;
      }
      try {
        await this.waitSameSession(session);
      } catch (e) {
        // An ephemeral made under the lost session is gone with it.
        if (mode.startsWith('ephemeral') || !(e instanceof ZkSessionLostError)) throw e;
        await this.waitConnected();
      }
      const kids = await this.children(this.rel(parent));
      const mine = kids.find((k) => k.startsWith(prefix));
      if (mine) return this.rel(`${parent === '/' ? '' : parent}/${mine}`);
    }
  }

  private wrap(watcher: Watcher): (e: NativeEvent) => void {
    return (e) => {
      try {
        const event = toWatchEvent(e, this.rel(e.getPath()));
        if (event) watcher(event);
      } catch (err) {
        this.driver.log('warn', { err: toError(err) }, 'watcher threw');
      }
    };
  }

  /** Chrooted absolute path; validates the caller's path. */
  private abs(path: string): string {
    if (path === '/') return this.chroot || '/';
    if (!path.startsWith('/') || path.endsWith('/') || path.includes('//') || path.includes('\0')) {
      throw new ZkInvalidPathError(path);
    }
    if (path.split('/').some((s) => s === '.' || s === '..')) throw new ZkInvalidPathError(path);
    return this.chroot + path;
  }

  private rel(full: string): string {
    if (!this.chroot) return full;
    if (full === this.chroot) return '/';
    return full.startsWith(`${this.chroot}/`) ? full.slice(this.chroot.length) : full;
  }
}

export function parseConnectString(cs: string): { servers: string; chroot: string } {
  const slash = cs.indexOf('/');
  const servers = slash === -1 ? cs : cs.slice(0, slash);
  let chroot = slash === -1 ? '' : cs.slice(slash);
  if (chroot.endsWith('/')) chroot = chroot.slice(0, -1);
  if (!servers) throw new ZkInvalidPathError(cs);
  if (chroot && (chroot.includes('//') || chroot.split('/').some((s) => s === '.' || s === '..'))) {
    throw new ZkInvalidPathError(chroot);
  }
  return { servers, chroot };
}

/** Connects and waits for the first session. */
export async function connectZooKeeper(
  options: ZooKeeperClientOptions & { connectTimeoutMs?: number },
): Promise<ZooKeeperClient> {
  const client = new ZooKeeperClient(options).start();
  try {
    await client.waitConnected({ timeoutMs: options.connectTimeoutMs ?? 30_000 });
    return client;
  } catch (e) {
    await client.close();
    throw e instanceof ZkTimeoutError || e instanceof IllegalStateError ? e : toError(e);
  }
}
