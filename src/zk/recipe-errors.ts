/**
 * Errors raised by the generic recipes (documents, shards, queue, semaphore,
 * read/write lock). Connection-level errors live in ./errors.ts.
 */
import { ZkError } from './errors.js';

/** The bytes stored at a node could not be decoded by the recipe's codec. */
export class ZkDecodeError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_DECODE';
  constructor(path: string, options?: { cause?: unknown }) {
    const why = options?.cause instanceof Error ? `: ${options.cause.message}` : '';
    super(`cannot decode the data of znode ${path}${why}`, path, options);
  }
}

/** A sharded value does not match its header (length or checksum). */
export class ZkShardCorruptError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_SHARD_CORRUPT';
  constructor(
    path: string,
    readonly reason: string,
  ) {
    super(`sharded value at ${path} is corrupt: ${reason}`, path);
  }
}

/** A read-modify-write kept losing compare-and-set races and gave up. */
export class ZkUpdateConflictError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_UPDATE_CONFLICT';
  constructor(
    path: string,
    readonly attempts: number,
  ) {
    super(`gave up updating ${path} after ${attempts} version conflicts`, path);
  }
}

/** A recipe was constructed or called with an argument it cannot work with. */
export class ZkRecipeArgumentError extends ZkError {
  readonly code = 'DRAWBRIDGE_ERR_ZK_RECIPE_ARGUMENT';
  constructor(
    readonly argument: string,
    readonly reason: string,
  ) {
    super(`invalid ${argument}: ${reason}`);
  }
}
