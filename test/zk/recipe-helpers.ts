import { afterAll, beforeAll, expect } from '@jest/globals';
/**
 * Shared by the recipe tests: clients on a test chroot, condition waits
 * with a message, a dump of what is left in the chroot, and expiring a
 * client's session from outside (through the fixture).
 */
import type { ZkClient } from '../../src/zk/client.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { waitUntil } from '../fixtures/wait.js';
import {
  expireSession as expireFromOutside,
  newChroot,
  type TestChroot,
} from '../fixtures/zookeeper.js';

const opened = new Set<ZooKeeperClient>();

/** A connected client; `closeAll` closes it even if the test failed half-way. */
export async function connect(
  connectString: string,
  sessionTimeoutMs = 4_000,
): Promise<ZooKeeperClient> {
  const client = await connectZooKeeper({
    connectString,
    sessionTimeoutMs,
    connectTimeoutMs: 20_000,
  });
  opened.add(client);
  return client;
}

/** Closes every client `connect` opened in this test file (closing twice is harmless). */
export async function closeAll(): Promise<void> {
  await Promise.all([...opened].map((c) => c.close()));
  const open = [...opened].filter((c) => c.state !== 'closed');
  opened.clear();
  if (open.length > 0) throw new Error(`${open.length} ZooKeeper client(s) did not close`);
}

export function waitFor(
  condition: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 15_000,
): Promise<void> {
  return waitUntil(condition, what, timeoutMs, 10);
}

/** Every path below `root` (excluded), depth first, sorted. */
export async function tree(client: ZkClient, root = '/'): Promise<string[]> {
  const base = root === '/' ? '' : root;
  const kids = (await client.children(root)).sort();
  const out: string[] = [];
  for (const k of kids) {
    out.push(`${base}/${k}`);
    out.push(...(await tree(client, `${base}/${k}`)));
  }
  return out;
}

/** Ends `client`'s current session on the server; the client then opens a new one. */
export async function expireSession(
  client: ZooKeeperClient,
  serverConnectString: string,
): Promise<void> {
  const creds = client.sessionCredentials();
  if (!creds) throw new Error('client has no session to expire');
  await expireFromOutside(serverConnectString, creds);
}

/**
 * Gives a test file its own chroot and a client in it, and proves clean
 * teardown: the chroot is empty at the end and every client is closed.
 */
export function withChroot(
  name: string,
  bind: (chroot: TestChroot, client: ZooKeeperClient) => void,
): void {
  let client: ZooKeeperClient | undefined;
  beforeAll(async () => {
    const chroot = await newChroot(name);
    client = await connect(chroot.connectString);
    bind(chroot, client);
  });
  afterAll(async () => {
    try {
      if (client) expect(await tree(client)).toEqual([]);
    } finally {
      await closeAll();
    }
    expect(client?.state).toBe('closed');
  });
}
