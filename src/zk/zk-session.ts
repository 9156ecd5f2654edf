/**
 * The session state machine behind ZooKeeperClient:
 * connecting → connected ⇄ suspended → lost → connected (new session) → closed.
 *
 * The library reports an expired session only when the server refuses a
 * reconnect, which never happens while the server is unreachable; so a
 * session is declared lost here once the session timeout has passed since
 * the disconnect, and everything pending on it is failed.
 */
import { IllegalStateError, toError } from '../errors.js';
import type { ConnectionState, SessionListener, TxOp } from './client.js';
import { ZkConnectionLossError, ZkSessionLostError, ZkTimeoutError } from './errors.js';
import {
  abandon,
  aclsFor,
  closeGracefully,
  createNative,
  type DigestAuth,
  dropConnection,
  handshakingSocket,
  type NativeAcl,
  type NativeClient,
  nativeMode,
  sessionHex,
  State,
  translate,
} from './zk-native.js';

/** The subset of a pino logger the client uses. */
export interface ZkLogger {
  debug(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface Session {
  readonly native: NativeClient;
  /** Hex session id once the server granted one. */
  id: string | undefined;
  /** Chroot checked and listeners told: the session may be announced. */
  ready: boolean;
  preparing: boolean;
  retired: boolean;
  /** Rejecters of the requests in flight on this session. */
  readonly pending: Set<(e: Error) => void>;
  heartbeatSentAt: number | undefined;
  lastHeartbeatAt: number;
  /** A socket seen waiting for the session handshake, and since when. */
  stalledSocket: object | undefined;
  stalledSince: number;
}

export interface DriverOptions {
  readonly servers: string;
  readonly chroot: string;
  readonly sessionTimeoutMs: number;
  readonly spinDelayMs: number;
  readonly auth: DigestAuth | undefined;
  readonly logger: ZkLogger | undefined;
}

export class SessionDriver {
  readonly acls: NativeAcl[];
  private _state: ConnectionState = 'connecting';
  private session: Session | undefined;
  private lossTimer: ReturnType<typeof setTimeout> | undefined;
  private watchdog: ReturnType<typeof setInterval> | undefined;
  private readonly listeners = new Set<SessionListener>();
  private readonly waiters = new Set<() => void>();

  constructor(private readonly opts: DriverOptions) {
    this.acls = aclsFor(opts.auth);
  }

  get state(): ConnectionState {
    return this._state;
  }
  get current(): Session | undefined {
    return this.session;
  }
  get sessionId(): string | undefined {
    return this.session?.id;
  }
  get sessionTimeoutMs(): number {
    return this.session?.id ? this.session.native.getSessionTimeout() : this.opts.sessionTimeoutMs;
  }

  credentials(): { id: Buffer; password: Buffer } | undefined {
    const s = this.session;
    if (!s?.id) return undefined;
    return { id: s.native.getSessionId(), password: s.native.getSessionPassword() };
  }

  /** Drops the TCP connection; the session survives if it comes back in time. */
  dropConnection(): void {
    if (this.session && !this.session.retired) dropConnection(this.session.native);
  }

  start(): void {
    if (this._state === 'closed') throw new IllegalStateError('ZooKeeperClient', 'closed', 'start');
    if (this.session) return;
    this.openSession();
    const tick = Math.max(100, Math.min(1000, Math.floor(this.opts.sessionTimeoutMs / 6)));
    this.watchdog = setInterval(() => this.inspect(), tick);
    this.watchdog.unref();
  }

  /** The session requests go to; throws once closed or before start. */
  usable(action: string): Session {
    if (this._state === 'closed' || !this.session) {
      throw new IllegalStateError(
        'ZooKeeperClient',
        this.session ? 'closed' : 'not started',
        action,
      );
    }
    return this.session;
  }

  addListener(listener: SessionListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  log(level: keyof ZkLogger, obj: object, msg: string): void {
    this.opts.logger?.[level]({ component: 'zk', ...obj }, msg);
  }

  /** Resolves when `pred` holds (re-checked on every state change); `pred` may throw to reject. */
  waitFor(
    pred: () => boolean,
    what: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const { timeoutMs, signal } = options;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = (err?: Error) => {
        this.waiters.delete(check);
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve();
      };
      const onAbort = () => done(toError(signal?.reason ?? new Error('aborted')));
      const check = () => {
        try {
          if (this._state === 'closed')
            done(new IllegalStateError('ZooKeeperClient', 'closed', `wait for ${what}`));
          else if (pred()) done();
        } catch (e) {
          done(toError(e));
        }
      };
      if (signal?.aborted) return onAbort();
      this.waiters.add(check);
      signal?.addEventListener('abort', onAbort, { once: true });
      if (timeoutMs !== undefined)
        timer = setTimeout(() => done(new ZkTimeoutError(what, timeoutMs)), timeoutMs);
      check();
    });
  }

  /** A multi-op on `native`; works around the library turning version 0 into -1. */
  commit(
    native: NativeClient,
    ops: readonly TxOp[],
    cb: (err: unknown, results?: { path?: string }[]) => void,
    shownPaths: readonly string[] = ops.map((op) => op.path),
  ): void {
    const tx = native.transaction();
    for (const op of ops) {
      if (op.op === 'create')
        tx.create(op.path, op.data ?? Buffer.alloc(0), this.acls, nativeMode(op.mode));
      else if (op.op === 'set') tx.setData(op.path, op.data, op.version ?? -1);
      else if (op.op === 'delete') tx.remove(op.path, op.version ?? -1);
      else tx.check(op.path, op.version);
    }
    const raw = (tx as unknown as { ops: { version?: number }[] }).ops;
    ops.forEach((op, i) => {
      const rec = raw[i];
      if (rec && op.op !== 'create') rec.version = op.version ?? -1;
    });
    tx.commit((err, results: { err?: number; path?: string }[] | undefined) => {
      if (!err) return cb(null, results ?? []);
      // The first non-OK result names the op that failed.
      const failed = (results ?? []).findIndex((r) => r.err !== undefined && r.err !== 0);
      cb(translate(err, failed >= 0 ? shownPaths[failed] : undefined));
    });
  }

  async close(): Promise<void> {
    if (this._state === 'closed') return;
    const s = this.session;
    const wasConnected = this._state === 'connected';
    this.clearLossTimer();
    if (this.watchdog) clearInterval(this.watchdog);
    this.setState('closed');
    if (!s) return;
    this.retire(s, new ZkSessionLostError());
    // Closing the session on the server removes our ephemerals at once.
    if (wasConnected) await closeGracefully(s.native, 2000);
    else {
      abandon(s.native);
      // A reconnect the library already scheduled fires within the spin
      // delay; let it run into the abandoned client so no handle outlives us.
      await new Promise((r) => setTimeout(r, Math.min(this.opts.spinDelayMs, 1000) + 20));
    }
  }

  // ---- session lifecycle ----------------------------------------------

  private openSession(): void {
    const native = createNative(this.opts.servers, {
      sessionTimeoutMs: this.opts.sessionTimeoutMs,
      spinDelayMs: this.opts.spinDelayMs,
    });
    const s: Session = {
      native,
      id: undefined,
      ready: false,
      preparing: false,
      retired: false,
      pending: new Set(),
      heartbeatSentAt: undefined,
      lastHeartbeatAt: 0,
      stalledSocket: undefined,
      stalledSince: 0,
    };
    this.session = s;
    if (this.opts.auth) {
      native.addAuthInfo(
        'digest',
        Buffer.from(`${this.opts.auth.user}:${this.opts.auth.password}`),
      );
    }
    native.on('state', (st: InstanceType<typeof State>) => {
      try {
        this.onNativeState(s, st);
      } catch (e) {
        this.log('error', { err: toError(e) }, 'ZooKeeper state handler failed');
      }
    });
    native.connect();
  }

  private onNativeState(s: Session, st: InstanceType<typeof State>): void {
    if (s.retired || s !== this.session) return;
    if (st === State.SYNC_CONNECTED || st === State.CONNECTED_READ_ONLY) {
      this.clearLossTimer();
      if (s.ready) this.setState('connected');
      else void this.prepare(s);
    } else if (st === State.DISCONNECTED) {
      s.heartbeatSentAt = undefined;
      if (this._state !== 'connected') return;
      this.setState('suspended');
      const timeout = s.native.getSessionTimeout();
      this.lossTimer = setTimeout(
        () => this.loseSession(s, 'no reconnect within the session timeout'),
        timeout,
      );
    } else if (st === State.EXPIRED || st === State.AUTH_FAILED) {
      this.loseSession(
        s,
        st === State.EXPIRED ? 'server reports the session expired' : 'authentication failed',
      );
    }
  }

  /** First connect of a session: make sure the chroot exists, then announce it. */
  private async prepare(s: Session): Promise<void> {
    if (s.preparing) return;
    s.preparing = true;
    s.id = sessionHex(s.native);
    try {
      if (this.opts.chroot) {
        await new Promise<void>((resolve, reject) =>
          s.native.mkdirp(this.opts.chroot, this.acls, (e) =>
            e ? reject(translate(e, this.opts.chroot)) : resolve(),
          ),
        );
      }
    } catch (e) {
      if (e instanceof ZkConnectionLossError) {
        // Try again on the next (re)connect of this session.
        s.preparing = false;
        return;
      }
      this.log(
        'warn',
        { err: toError(e), chroot: this.opts.chroot },
        'could not create the chroot',
      );
    }
    if (s.retired || s !== this.session) return;
    s.ready = true;
    this.log('info', { sessionId: s.id }, 'ZooKeeper session established');
    if (s.native.getState() === State.SYNC_CONNECTED) this.setState('connected');
    for (const l of [...this.listeners]) {
      try {
        l.onNewSession?.(s.id);
      } catch (e) {
        this.log('error', { err: toError(e) }, 'onNewSession listener threw');
      }
    }
  }

  private loseSession(s: Session, reason: string): void {
    if (s.retired || s !== this.session || this._state === 'closed') return;
    this.clearLossTimer();
    this.log('warn', { sessionId: s.id, reason }, 'ZooKeeper session lost');
    this.retire(s, new ZkSessionLostError());
    abandon(s.native);
    this.setState('lost');
    this.openSession();
    this.notifyWaiters();
  }

  private retire(s: Session, err: Error): void {
    s.retired = true;
    for (const reject of [...s.pending]) reject(err);
    s.pending.clear();
  }

  /**
   * The library misses two kinds of silence: a connected server that stops
   * answering (it sends pings but never checks for replies), and a server
   * that accepts TCP but never answers the session handshake (it waits
   * forever). Either way, drop the connection so the library reconnects,
   * to another server if the ensemble has one.
   */
  private inspect(): void {
    const s = this.session;
    if (!s || s.retired) return;
    const now = Date.now();
    if (s.native.getState() === State.SYNC_CONNECTED) {
      s.stalledSocket = undefined;
      this.heartbeat(s, now);
      return;
    }
    const sock = handshakingSocket(s.native);
    if (sock !== s.stalledSocket) {
      s.stalledSocket = sock;
      s.stalledSince = now;
    } else if (sock && now - s.stalledSince > this.handshakeTimeoutMs()) {
      this.log('warn', { sessionId: s.id }, 'ZooKeeper handshake unanswered: reconnecting');
      s.stalledSocket = undefined;
      dropConnection(s.native);
    }
  }

  private heartbeat(s: Session, now: number): void {
    const timeout = s.native.getSessionTimeout();
    if (s.heartbeatSentAt !== undefined) {
      if (now - s.heartbeatSentAt > (timeout * 2) / 3) {
        this.log('warn', { sessionId: s.id }, 'ZooKeeper server silent: reconnecting');
        s.heartbeatSentAt = undefined;
        dropConnection(s.native);
      }
      return;
    }
    if (now - s.lastHeartbeatAt < timeout / 3) return;
    s.heartbeatSentAt = now;
    s.lastHeartbeatAt = now;
    s.native.exists('/', () => {
      s.heartbeatSentAt = undefined;
    });
  }

  private handshakeTimeoutMs(): number {
    const servers = this.opts.servers.split(',').length;
    return Math.max(500, Math.floor(this.opts.sessionTimeoutMs / servers));
  }

  private clearLossTimer(): void {
    if (this.lossTimer) clearTimeout(this.lossTimer);
    this.lossTimer = undefined;
  }

  private setState(next: ConnectionState): void {
    if (this._state === next) return;
    this._state = next;
    this.log(
      next === 'suspended' || next === 'lost' ? 'warn' : 'info',
      { state: next },
      'ZooKeeper connection state',
    );
    for (const l of [...this.listeners]) {
      try {
        l.onState?.(next);
      } catch (e) {
        this.log('error', { err: toError(e) }, 'connection state listener threw');
      }
    }
    this.notifyWaiters();
  }

  private notifyWaiters(): void {
    for (const w of [...this.waiters]) w();
  }
}
