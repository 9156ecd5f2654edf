import { describe, expect, it } from '@jest/globals';
import { IllegalStateError } from '../../src/errors.js';
import {
  ComponentRegistration,
  listComponents,
  parseRecord,
  type RegisteredComponent,
  watchComponents,
} from '../../src/zk/registry.js';
import type { ZooKeeperClient } from '../../src/zk/zk-client.js';
import { type TestChroot } from '../fixtures/zookeeper.js';
import { connect, expireSession, waitFor, withChroot } from './recipe-helpers.js';

const scheduler = (hostname: string) =>
  ({ kind: 'scheduler', hostname, pid: 4242, version: '0.1.0', state: 'initializing' }) as const;

describe('component registry', () => {
  let chroot: TestChroot;
  let client: ZooKeeperClient;

  withChroot('registry', (c, z) => {
    chroot = c;
    client = z;
  });

  it('registers an ephemeral record and updates its state by compare-and-set', async () => {
    const reg = await ComponentRegistration.register(client, '/components', {
      ...scheduler('host-a'),
      extra: { zone: 'eu' },
    });
    expect(reg.id).toMatch(/^scheduler-host-a-4242-[0-9a-f]{6}$/);
    const stat = await client.exists(reg.path);
    expect(stat?.ephemeralOwner).toBe(client.sessionId);
    await reg.update('running');
    await reg.update('paused', { zone: 'us' });
    const [listed] = await listComponents(client, '/components');
    expect(listed).toMatchObject({
      id: reg.id,
      state: 'paused',
      extra: { zone: 'us' },
      hostname: 'host-a',
    });
    expect(Date.parse(listed!.startedAt)).not.toBeNaN();
    expect((await client.exists(reg.path))?.version).toBe(2);
    await reg.unregister();
    await reg.unregister();
    await expect(reg.update('running')).rejects.toBeInstanceOf(IllegalStateError);
    expect(await listComponents(client, '/components')).toEqual([]);
    await client.deleteRecursive('/components');
  });

  it('the watcher sees components join, and leave when their client closes', async () => {
    const seen: RegisteredComponent[][] = [];
    const stop = watchComponents(client, '/components', (list) => void seen.push(list));
    await waitFor(() => seen.length === 1, 'the first callback');
    expect(seen[0]).toEqual([]);
    const other = await connect(chroot.connectString);
    const a = await ComponentRegistration.register(other, '/components', scheduler('host-a'));
    const b = await ComponentRegistration.register(client, '/components', {
      ...scheduler('host-b'),
      kind: 'executor',
    });
    await waitFor(() => seen.at(-1)?.length === 2, 'two components');
    expect(
      seen
        .at(-1)!
        .map((c) => c.kind)
        .sort(),
    ).toEqual(['executor', 'scheduler']);
    await other.close(); // session ends: its ephemeral goes
    await waitFor(() => seen.at(-1)?.length === 1, 'the closed client to leave');
    expect(seen.at(-1)![0]?.id).toBe(b.id);
    stop();
    await a.unregister(); // on a closed client: nothing to do, no error
    await b.unregister();
    await client.deleteRecursive('/components');
  });

  it('re-registers with the current record after a new session', async () => {
    const other = await connect(chroot.connectString);
    const errors: Error[] = [];
    const reg = await ComponentRegistration.register(other, '/components', scheduler('host-c'), {
      onError: (e) => errors.push(e),
    });
    await reg.update('running');
    const first = other.sessionId;
    await expireSession(other, chroot.serverConnectString);
    await waitFor(() => other.sessionId !== first && other.state === 'connected', 'a new session');
    await waitFor(
      async () => (await client.exists(reg.path))?.ephemeralOwner === other.sessionId,
      'the node to be re-created under the new session',
    );
    expect((await listComponents(client, '/components'))[0]?.state).toBe('running');
    await reg.update('draining');
    expect((await listComponents(client, '/components'))[0]?.state).toBe('draining');
    expect(errors).toEqual([]);
    await reg.unregister();
    await other.close();
    await client.deleteRecursive('/components');
  });

  it('keeps trying to re-register when the first attempt on a new session fails', async () => {
    const other = await connect(chroot.connectString);
    const errors: Error[] = [];
    const reg = await ComponentRegistration.register(other, '/flaky', scheduler('host-d'), {
      onError: (e) => errors.push(e),
    });
    // Without its parent the re-creation on the next session fails, while the
    // connection itself stays up: only a retry can bring the node back.
    await client.deleteRecursive('/flaky');
    const first = other.sessionId;
    await expireSession(other, chroot.serverConnectString);
    await waitFor(() => other.sessionId !== first && other.state === 'connected', 'a new session');
    await waitFor(() => errors.length > 0, 'a failed re-registration');
    await client.mkdirp('/flaky');
    await waitFor(
      async () => (await client.exists(reg.path))?.ephemeralOwner === other.sessionId,
      'the node to be re-created under the new session by a retry',
    );
    await reg.unregister();
    await other.close();
    await client.deleteRecursive('/flaky');
  });

  it('rejects records that are not component records', () => {
    expect(() =>
      parseRecord({ ...scheduler('x'), state: 'sleeping', startedAt: 'now', extra: {} }),
    ).toThrow(TypeError);
    expect(() => parseRecord(null)).toThrow(TypeError);
  });
});
