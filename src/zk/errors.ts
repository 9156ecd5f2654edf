import { DrawbridgeError } from '../errors.js';

/** Base of the errors a ZooKeeper operation can end with. */
export abstract class ZkError extends DrawbridgeError {
  constructor(
    message: string,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export class ZkNoNodeError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_NO_NODE';
  constructor(path: string, options?: { cause?: unknown }) {
    super(`znode ${path} does not exist`, path, options);
  }
}

export class ZkNodeExistsError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_NODE_EXISTS';
  constructor(path: string, options?: { cause?: unknown }) {
    super(`znode ${path} already exists`, path, options);
  }
}

/** Compare-and-set lost: someone else wrote the node since it was read. */
export class ZkBadVersionError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_BAD_VERSION';
  constructor(path: string, options?: { cause?: unknown }) {
    super(`znode ${path} changed since it was read (version conflict)`, path, options);
  }
}

export class ZkNotEmptyError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_NOT_EMPTY';
  constructor(path: string, options?: { cause?: unknown }) {
    super(`znode ${path} has children`, path, options);
  }
}

/** The operation's outcome is unknown: the connection dropped before the reply. */
export class ZkConnectionLossError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_CONNECTION_LOSS';
  constructor(path?: string, options?: { cause?: unknown }) {
    super(
      `connection to ZooKeeper lost${path ? ` during an operation on ${path}` : ''}`,
      path,
      options,
    );
  }
}

/** The session is gone: ephemerals, locks and leadership held under it are lost. */
export class ZkSessionLostError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_SESSION_LOST';
  constructor(path?: string, options?: { cause?: unknown }) {
    super(`ZooKeeper session lost${path ? ` (operation on ${path})` : ''}`, path, options);
  }
}

export class ZkNoAuthError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_NO_AUTH';
  constructor(path?: string, options?: { cause?: unknown }) {
    super(
      `not authorised for znode ${path ?? '(unknown)'}: check zookeeper.auth in the config`,
      path,
      options,
    );
  }
}

export class ZkTimeoutError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_TIMEOUT';
  constructor(what: string, timeoutMs: number) {
    super(`timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** Any other server error, with ZooKeeper's own name for it. */
export class ZkUnexpectedError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_UNEXPECTED';
  constructor(
    readonly zkCode: string,
    path?: string,
    options?: { cause?: unknown },
  ) {
    super(`ZooKeeper error ${zkCode}${path ? ` on ${path}` : ''}`, path, options);
  }
}

/** A znode path that ZooKeeper (or Drawbridge's tree) would not accept. */
export class ZkInvalidPathError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_INVALID_PATH';
  constructor(path: string) {
    super(
      `invalid znode path ${JSON.stringify(path)}: absolute, no empty, '.' or '..' segments, no trailing '/'`,
      path,
    );
  }
}

/** A name given to paths.ts (job, pipeline, component ...) cannot be a path segment. */
export class ZkInvalidNameError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_INVALID_NAME';
  constructor(
    readonly kind: string,
    readonly value: string,
    readonly reason: string,
  ) {
    super(`invalid ${kind} name ${JSON.stringify(value)} for a znode: ${reason}`);
  }
}

/** A lock (or leadership) held under a session that is gone, or whose node vanished. */
export class ZkLockLostError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_LOCK_LOST';
  constructor(
    lockPath: string,
    readonly reason: string,
  ) {
    super(`lock ${lockPath} lost: ${reason}`, lockPath);
  }
}
