/**
 * The narrow seam to node-zookeeper-client 1.1.3: error and stat
 * translation, ACLs, and the few internals the library does not expose
 * (forcing a reconnect, shutting a client down for good).
 */
import { createHash } from 'node:crypto';
import zookeeper from 'node-zookeeper-client';
import type { Stat, WatchEvent, WatchEventType, CreateMode } from './client.js';
import {
  ZkBadVersionError,
  ZkConnectionLossError,
  ZkNoAuthError,
  ZkNodeExistsError,
  ZkNoNodeError,
  ZkNotEmptyError,
  ZkSessionLostError,
  ZkUnexpectedError,
  type ZkError,
} from './errors.js';

export type NativeClient = zookeeper.Client;
export type NativeStat = zookeeper.Stat;
export type NativeAcl = zookeeper.ACL;
export type NativeEvent = zookeeper.Event;
export const { Exception, State, Event } = zookeeper;

/** Library internals we rely on; checked against 1.1.3. */
interface ConnectionManagerInternals {
  state: number;
  socket?: { destroy(): void; destroyed?: boolean; readyState?: string };
  connectTimeoutHandler?: ReturnType<typeof setTimeout> | null;
  connect: () => void;
  onSocketConnected: () => void;
}

function internals(client: NativeClient): ConnectionManagerInternals {
  return (client as unknown as { connectionManager: ConnectionManagerInternals }).connectionManager;
}

export interface NativeOptions {
  readonly sessionTimeoutMs: number;
  readonly spinDelayMs: number;
  /** Resume an existing session (used by tests to expire a session from outside). */
  readonly sessionId?: Buffer;
  readonly sessionPassword?: Buffer;
}

export function createNative(servers: string, options: NativeOptions): NativeClient {
  return zookeeper.createClient(servers, {
    sessionTimeout: options.sessionTimeoutMs,
    spinDelay: options.spinDelayMs,
    // Never let the library retry on its own: a blind retry of a create
    // can make a second node. Retries are decided per operation above.
    retries: 0,
    ...(options.sessionId ? { sessionId: options.sessionId } : {}),
    ...(options.sessionPassword ? { sessionPassword: options.sessionPassword } : {}),
  });
}

const CM_CONNECTING = 1;

/**
 * The socket of a connection whose TCP connect succeeded but whose session
 * handshake has not: the library waits for that answer forever.
 */
export function handshakingSocket(client: NativeClient): object | undefined {
  const cm = internals(client);
  const sock = cm.socket;
  if (cm.state !== CM_CONNECTING || !sock || sock.destroyed || sock.readyState !== 'open')
    return undefined;
  return sock;
}

/** Drops the TCP connection; the library then reconnects to the same session. */
export function dropConnection(client: NativeClient): void {
  internals(client).socket?.destroy();
}

/**
 * Shuts a client down without talking to the server: no reconnect, and a
 * reconnect already scheduled by the library ends in a closed socket.
 */
export function abandon(client: NativeClient): void {
  const cm = internals(client);
  client.removeAllListeners();
  cm.connect = () => undefined;
  cm.onSocketConnected = function (this: ConnectionManagerInternals) {
    if (this.connectTimeoutHandler) clearTimeout(this.connectTimeoutHandler);
    this.socket?.destroy();
  };
  if (cm.connectTimeoutHandler) clearTimeout(cm.connectTimeoutHandler);
  cm.socket?.destroy();
}

/** Ends the session on the server (closeSession), then the socket closes. */
export function closeGracefully(client: NativeClient, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, timeoutMs);
    function finish(): void {
      clearTimeout(timer);
      abandon(client);
      resolve();
    }
    client.once('disconnected', finish);
    client.close();
  });
}

export function sessionHex(client: NativeClient): string {
  return client.getSessionId().toString('hex');
}

const MODES: Record<CreateMode, number> = {
  persistent: zookeeper.CreateMode.PERSISTENT,
  ephemeral: zookeeper.CreateMode.EPHEMERAL,
  persistent_sequential: zookeeper.CreateMode.PERSISTENT_SEQUENTIAL,
  ephemeral_sequential: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL,
};

export function nativeMode(mode: CreateMode | undefined): number {
  return MODES[mode ?? 'persistent'];
}

export interface DigestAuth {
  readonly user: string;
  readonly password: string;
  /** Also grant READ to everyone (for read-only tools without credentials). */
  readonly worldReadable?: boolean;
}

/** ACLs every node is created with: open, or a digest identity (+ world read). */
export function aclsFor(auth: DigestAuth | undefined): NativeAcl[] {
  if (!auth) return (zookeeper.ACL as unknown as { OPEN_ACL_UNSAFE: NativeAcl[] }).OPEN_ACL_UNSAFE;
  const digest = createHash('sha1').update(`${auth.user}:${auth.password}`).digest('base64');
  const acls = [
    new zookeeper.ACL(
      zookeeper.Permission.ALL,
      new zookeeper.Id('digest', `${auth.user}:${digest}`),
    ),
  ];
  if (auth.worldReadable) {
    acls.push(new zookeeper.ACL(zookeeper.Permission.READ, new zookeeper.Id('world', 'anyone')));
  }
  return acls;
}

function long(b: Buffer): number {
  return b.length === 8 ? Number(b.readBigInt64BE(0)) : 0;
}

export function toStat(s: NativeStat): Stat {
  const owner = s.ephemeralOwner.toString('hex');
  return Object.freeze({
    version: s.version,
    cversion: s.cversion,
    dataLength: s.dataLength,
    numChildren: s.numChildren,
    ephemeralOwner: /^0*$/.test(owner) ? '0' : owner,
    ctime: long(s.ctime),
    mtime: long(s.mtime),
  });
}

const EVENT_TYPES: Record<number, WatchEventType> = {
  [zookeeper.Event.NODE_CREATED]: 'created',
  [zookeeper.Event.NODE_DELETED]: 'deleted',
  [zookeeper.Event.NODE_DATA_CHANGED]: 'changed',
  [zookeeper.Event.NODE_CHILDREN_CHANGED]: 'children',
};

export function toWatchEvent(e: zookeeper.Event, path: string): WatchEvent | undefined {
  const type = EVENT_TYPES[e.getType()];
  return type ? Object.freeze({ type, path }) : undefined;
}

export function nativeCode(e: unknown): number | undefined {
  if (e instanceof Exception) return e.getCode();
  return undefined;
}

/** Translates a library error into Drawbridge's typed errors; others pass through. */
export function translate(e: unknown, path: string | undefined): Error {
  const code = nativeCode(e);
  const opts = { cause: e };
  switch (code) {
    case undefined:
      return e instanceof Error ? e : new ZkUnexpectedError(String(e), path, opts);
    case Exception.NO_NODE:
      return new ZkNoNodeError(path ?? '?', opts);
    case Exception.NODE_EXISTS:
      return new ZkNodeExistsError(path ?? '?', opts);
    case Exception.BAD_VERSION:
      return new ZkBadVersionError(path ?? '?', opts);
    case Exception.NOT_EMPTY:
      return new ZkNotEmptyError(path ?? '?', opts);
    case Exception.CONNECTION_LOSS:
    case Exception.OPERATION_TIMEOUT:
      return new ZkConnectionLossError(path, opts);
    case Exception.SESSION_EXPIRED:
      return new ZkSessionLostError(path, opts);
    case Exception.NO_AUTH:
    case Exception.AUTH_FAILED:
      return new ZkNoAuthError(path, opts);
    default:
      return unexpected(e, code, path);
  }
}

function unexpected(e: unknown, code: number, path: string | undefined): ZkError {
  const name =
    e && typeof e === 'object' && 'name' in e && typeof e.name === 'string' ? e.name : `${code}`;
  return new ZkUnexpectedError(name, path, { cause: e });
}
