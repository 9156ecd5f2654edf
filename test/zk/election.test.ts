import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { LeaderElection } from '../../src/zk/election.js';
import { ZkLockLostError } from '../../src/zk/errors.js';
import { IllegalStateError } from '../../src/errors.js';
import { expireSession, newChroot, type TestChroot } from '../fixtures/zookeeper.js';
import { waitUntil } from '../fixtures/wait.js';

let chroot: TestChroot;
let admin: ZooKeeperClient;
const clients: ZooKeeperClient[] = [];
const elections: LeaderElection[] = [];

async function candidate(
  name: string,
  path: string,
  events: string[] = [],
  sessionTimeoutMs = 4000,
): Promise<{ zk: ZooKeeperClient; election: LeaderElection }> {
  const zk = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs });
  clients.push(zk);
  const election = new LeaderElection(zk, path, {
    data: Buffer.from(name),
    onElected: (token) => events.push(`${name} elected ${token}`),
    onDefeated: (e) => events.push(`${name} defeated: ${e.reason}`),
  });
  elections.push(election);
  return { zk, election };
}

function leaders(): LeaderElection[] {
  return elections.filter((e) => e.state === 'leader');
}

beforeAll(async () => {
  chroot = await newChroot('election');
  admin = await connectZooKeeper({ connectString: chroot.connectString });
});

afterEach(async () => {
  await Promise.all(elections.splice(0).map((e) => e.stop()));
  await Promise.all(clients.splice(0).map((c) => c.close()));
});

afterAll(async () => {
  for (const d of await admin.children('/')) expect(await admin.children(`/${d}`)).toEqual([]);
  await admin.deleteRecursive('/');
  await admin.close();
});

describe('LeaderElection', () => {
  it('elects one leader, fails over on resignation, with growing fencing tokens', async () => {
    const a = await candidate('a', '/resign');
    a.election.start();
    const tokenA = await a.election.waitLeader({ timeoutMs: 10_000 });
    const b = await candidate('b', '/resign');
    b.election.start();
    await waitUntil(async () => (await admin.children('/resign')).length === 2, 'b to stand');
    expect(leaders()).toEqual([a.election]);
    expect(b.election.state).toBe('campaigning');
    expect(a.election.fencingToken).toBe(tokenA);
    expect(await a.election.isStillLeader()).toBe(true);
    const info = await LeaderElection.leaderOf(admin, '/resign');
    expect(info?.data.toString()).toBe('a');
    expect(info?.token).toBe(tokenA);

    await a.election.stop();
    expect(a.election.state).toBe('stopped');
    const tokenB = await b.election.waitLeader({ timeoutMs: 10_000 });
    expect(tokenB).toBeGreaterThan(tokenA);
    expect(leaders()).toEqual([b.election]);
    expect((await LeaderElection.leaderOf(admin, '/resign'))?.data.toString()).toBe('b');
    await expect(a.election.waitLeader()).rejects.toBeInstanceOf(IllegalStateError);
    expect(a.election.stop()).toBe(a.election.stop());
  });

  it('a leader whose session expires is deposed, told so, and stands again', async () => {
    const events: string[] = [];
    const a = await candidate('a', '/expire', events, 2000);
    a.election.start();
    const tokenA = await a.election.waitLeader({ timeoutMs: 10_000 });
    const leadership = a.election.signal!;
    const b = await candidate('b', '/expire', events);
    b.election.start();
    await waitUntil(async () => (await admin.children('/expire')).length === 2, 'b to stand');

    await expireSession(chroot.serverConnectString, a.zk.sessionCredentials()!);

    const tokenB = await b.election.waitLeader({ timeoutMs: 15_000 });
    expect(tokenB).toBeGreaterThan(tokenA);
    await waitUntil(() => leadership.aborted, 'a to learn it was deposed');
    expect(leadership.reason).toBeInstanceOf(ZkLockLostError);
    // a campaigns again on its new session, behind b.
    await waitUntil(async () => (await admin.children('/expire')).length === 2, 'a to stand again');
    expect(a.election.state).toBe('campaigning');
    expect(leaders()).toEqual([b.election]);

    await b.election.stop();
    const tokenA2 = await a.election.waitLeader({ timeoutMs: 10_000 });
    expect(tokenA2).toBeGreaterThan(tokenB);
    // a's defeat and b's election race each other; both come between.
    expect(events).toHaveLength(4);
    expect(events[0]).toBe(`a elected ${tokenA}`);
    expect(events.slice(1, 3).sort()).toEqual([
      expect.stringMatching(/^a defeated: /),
      `b elected ${tokenB}`,
    ]);
    expect(events[3]).toBe(`a elected ${tokenA2}`);
  });

  it('waitLeader honours timeout and abort', async () => {
    const a = await candidate('a', '/wait');
    a.election.start();
    await a.election.waitLeader({ timeoutMs: 10_000 });
    const b = await candidate('b', '/wait');
    b.election.start();
    await expect(b.election.waitLeader({ timeoutMs: 200 })).rejects.toThrow(/timed out/);
    const ctl = new AbortController();
    const waiting = b.election.waitLeader({ signal: ctl.signal });
    ctl.abort(new Error('no longer interested'));
    await expect(waiting).rejects.toThrow('no longer interested');
  });
});
