/**
 * Drawbridge's own ZooKeeper client interface. Everything above src/zk talks
 * to this, never to node-zookeeper-client, so another implementation (one
 * with TLS, say) can replace it. Paths are absolute within the client's
 * chroot. Data is always a Buffer; recipes take a codec for anything richer.
 */

export type CreateMode =
  'persistent' | 'ephemeral' | 'persistent_sequential' | 'ephemeral_sequential';

/**
 * connecting → connected ⇄ suspended → lost → connected (on a new session) → closed.
 * `suspended`: the TCP connection dropped; the session may still be alive.
 * `lost`: the session timeout has passed since the disconnect (or the server
 * said it expired): ephemerals, locks and leadership must be assumed gone.
 */
export type ConnectionState = 'connecting' | 'connected' | 'suspended' | 'lost' | 'closed';

export interface Stat {
  readonly version: number;
  readonly cversion: number;
  readonly dataLength: number;
  readonly numChildren: number;
  /** Hex session id of the owner for ephemeral nodes, '0' otherwise. */
  readonly ephemeralOwner: string;
  readonly ctime: number;
  readonly mtime: number;
}

export type WatchEventType = 'created' | 'deleted' | 'changed' | 'children';
export interface WatchEvent {
  readonly type: WatchEventType;
  readonly path: string;
}
/** One-shot, as in ZooKeeper. Use the watch recipes for re-arming watches. */
export type Watcher = (event: WatchEvent) => void;

export type TxOp =
  | {
      readonly op: 'create';
      readonly path: string;
      readonly data?: Buffer;
      readonly mode?: CreateMode;
    }
  | { readonly op: 'set'; readonly path: string; readonly data: Buffer; readonly version?: number }
  | { readonly op: 'delete'; readonly path: string; readonly version?: number }
  | { readonly op: 'check'; readonly path: string; readonly version: number };

export interface CreateOptions {
  readonly mode?: CreateMode;
  /**
   * Prefix the node name with a unique id and, after a connection loss,
   * look for our own node instead of creating a second one. Required for
   * sequential nodes whose duplicates would be harmful (locks, queues).
   */
  readonly protected?: boolean;
}

export interface SessionListener {
  /** Connection state changed. Never throws; never blocks. */
  onState?(state: ConnectionState): void;
  /** A new session was established (the first one, or after a loss). */
  onNewSession?(sessionId: string): void;
}

export interface ZkClient {
  readonly state: ConnectionState;
  /** Hex id of the current session; undefined before the first connect. */
  readonly sessionId: string | undefined;
  readonly sessionTimeoutMs: number;

  /** Returns the path actually created (with the sequence suffix for sequential modes). */
  create(path: string, data?: Buffer, options?: CreateOptions): Promise<string>;
  /** Creates every missing ancestor and the node itself, persistent; no error if it exists. */
  mkdirp(path: string): Promise<void>;
  get(path: string, watcher?: Watcher): Promise<{ data: Buffer; stat: Stat }>;
  /** `version` -1 (default) means unconditional. */
  set(path: string, data: Buffer, version?: number): Promise<Stat>;
  exists(path: string, watcher?: Watcher): Promise<Stat | null>;
  children(path: string, watcher?: Watcher): Promise<string[]>;
  delete(path: string, version?: number): Promise<void>;
  /** Deletes the node and everything below it; no error if it does not exist. */
  deleteRecursive(path: string): Promise<void>;
  /** All or nothing. Returns the created paths of create ops, in order. */
  transaction(ops: readonly TxOp[]): Promise<string[]>;

  addListener(listener: SessionListener): () => void;
  /** Resolves once connected (or rejects on timeout / abort). */
  waitConnected(options?: { timeoutMs?: number; signal?: AbortSignal }): Promise<void>;
  close(): Promise<void>;
}
