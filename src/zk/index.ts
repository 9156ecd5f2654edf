export type * from './client.js';
export * from './errors.js';
export {
  ZooKeeperClient,
  connectZooKeeper,
  parseConnectString,
  type ZooKeeperClientOptions,
  type ZkLogger,
  type DigestAuth,
} from './zk-client.js';
export { ZkPaths, segment, rootPath, COMPONENT_KINDS, type ComponentKind } from './paths.js';
export {
  ZkMutex,
  contenders,
  type Contender as LockContender,
  type LockState,
  type LockOptions,
  type AcquireOptions as LockAcquireOptions,
} from './lock.js';
export {
  LeaderElection,
  type ElectionState,
  type ElectionOptions,
  type LeaderInfo,
} from './election.js';
// Recipes: generic over a codec, each in its own module.
export * from './codec.js';
export * from './recipe-errors.js';
export * from './shard.js';
export * from './document.js';
export * from './queue.js';
export * from './registry.js';
export * from './semaphore.js';
export * from './rwlock.js';
export * from './lease.js';
export * from './watch.js';
