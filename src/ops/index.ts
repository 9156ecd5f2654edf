/**
 * Operations on running components through ZooKeeper: control requests
 * (drain, pause, resume) and rolling restarts. Shared by the CLI and web;
 * imports nothing but src/zk, so web may use it.
 */
export * from './components.js';
export * from './control.js';
export * from './control-sweep.js';
export * from './errors.js';
export * from './rolling-restart-record.js';
export * from './rolling-restart.js';
