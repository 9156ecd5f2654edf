/**
 * Starts the run's shared ZooKeeper without waiting for it: the JVM boots
 * while jest starts its workers, and `sharedZooKeeper()` waits in the test
 * files that need it, so unit-only runs pay almost nothing.
 */
import type * as Fixture from '../fixtures/zookeeper.js';
import type { ZkServer } from '../fixtures/zookeeper.js';

declare global {
  var drawbridgeSharedZk: ZkServer | undefined;
}

// Jest loads global setup through its CommonJS hook, which neither maps the
// `.js` suffix of ESM imports to `.ts` nor resolves it: name the module bare.
const FIXTURE = '../fixtures/zookeeper';

export default async function globalSetup(): Promise<void> {
  const fixture = (await import(FIXTURE)) as typeof Fixture;
  const server = await fixture.startZooKeeper({ waitReady: false });
  globalThis.drawbridgeSharedZk = server;
  // Workers are forked after global setup and inherit the environment.
  process.env[fixture.SHARED_ZK_ENV] = server.connectString;
}
