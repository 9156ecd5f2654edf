import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Executor } from '../../src/executor/index.js';
import { bastionBuildId } from '../../src/executor/run-build.js';
import {
  completed,
  createWorld,
  heldLocks,
  httpGet,
  modifyingZxids,
  processesMatching,
  put,
  read,
  request,
  requestDoc,
  resultQueue,
  waitState,
  waitUntil,
  type World,
} from './support.js';

describe('executor builds', () => {
  let world: World;
  let executor: Executor;

  beforeAll(async () => {
    world = await createWorld('builds');
    executor = await world.startExecutor({ slots: 4 });
  });
  afterAll(async () => {
    await executor?.stop();
    if (world) expect(await heldLocks(world.zk, world.paths)).toEqual([]);
    await world?.dispose();
  });

  it('runs the checkout step once, then three jobs, each reported with its event in one transaction', async () => {
    const bs = 'bs-main';
    const clonesBefore = world.gitCalls('clone').length;
    const checkout = await put(
      world,
      request(world, { kind: 'checkout', buildsetId: bs, job: 'checkout', playbook: '' }),
    );
    const done = await completed(world, checkout.id);
    expect(done.outcome).toMatchObject({ result: 'SUCCESS', retryable: false });
    expect(done.executor).toBe(executor.id);
    const jobs = await Promise.all(
      ['base', 'dns', 'web'].map((job) => put(world, request(world, { buildsetId: bs, job }))),
    );
    const results = await Promise.all(jobs.map((j) => completed(world, j.id)));
    expect(results.map((r) => r.outcome?.result)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(world.gitCalls('clone').length - clonesBefore).toBe(1);

    const queue = resultQueue(world);
    const events = await queue.read();
    for (const r of [done, ...results]) {
      const event = events.find((e) => e.value.requestId === r.id);
      expect(event?.value).toEqual({
        type: 'build-completed',
        requestId: r.id,
        buildsetId: bs,
        job: r.job,
        attempt: 1,
        outcome: r.outcome,
      });
      // The request's completion and the event were written by the same transaction.
      const [requestZxid, eventZxid] = await modifyingZxids(world, [
        world.paths.buildRequest(r.id),
        `${queue.entriesPath}/${event!.id}`,
      ]);
      expect(requestZxid).toBe(eventZxid);
      // The log holds the playbook's output.
      const log = readFileSync(r.outcome!.logPath!, 'utf8');
      expect(r.outcome!.logPath).toBe(join(world.logRoot, bs, `${r.job}-1.log`));
      if (r.kind === 'job') expect(log).toContain('hello from drawbridge');
    }
    expect(await heldLocks(world.zk, world.paths)).toEqual([]);
  });

  it('runs two jobs of one buildset at the same time over one SSH connection', async () => {
    const vars = (name: string) => ({ record_dir: world.records, name, seconds: 2 });
    const [a, b] = await Promise.all([
      put(world, request(world, { playbook: 'playbooks/interval.yml', vars: vars('a') })),
      put(world, request(world, { playbook: 'playbooks/interval.yml', vars: vars('b') })),
    ]);
    let connections = 0;
    await waitUntil(() => {
      connections = Math.max(connections, sshConnections(world.sshd.port));
      return (
        existsSync(join(world.records, 'a.start')) && existsSync(join(world.records, 'b.start'))
      );
    }, 'both playbooks to start');
    connections = Math.max(connections, sshConnections(world.sshd.port));
    const [ra, rb] = await Promise.all([completed(world, a.id), completed(world, b.id)]);
    expect([ra.outcome?.result, rb.outcome?.result]).toEqual(['SUCCESS', 'SUCCESS']);
    const t = (f: string): bigint => BigInt(readFileSync(join(world.records, f), 'utf8').trim());
    expect(t('a.start') < t('b.end') && t('b.start') < t('a.end')).toBe(true);
    expect(connections).toBe(1);
  });

  it('reports a failing playbook as FAILURE, not retryable', async () => {
    const r = await put(world, request(world, { playbook: 'playbooks/fail.yml' }));
    const done = await completed(world, r.id);
    expect(done.outcome).toMatchObject({ result: 'FAILURE', retryable: false, exitCode: 2 });
    expect(readFileSync(done.outcome!.logPath!, 'utf8')).toContain('deliberately failing');
  });

  it('reports a missing playbook as a non-retryable ERROR naming it', async () => {
    const r = await put(world, request(world, { playbook: 'playbooks/nope.yml' }));
    const done = await completed(world, r.id);
    expect(done.outcome).toMatchObject({ result: 'ERROR', retryable: false, startedAt: null });
    expect(done.outcome!.reason).toContain('playbook playbooks/nope.yml does not exist');
  });

  it('reports a failed checkout as a non-retryable ERROR with the reason', async () => {
    const missing = 'e'.repeat(40);
    const r = await put(
      world,
      request(world, {
        kind: 'checkout',
        buildsetId: 'bs-bad-commit',
        job: 'checkout',
        playbook: '',
        commit: missing,
      }),
    );
    const done = await completed(world, r.id);
    expect(done.outcome).toMatchObject({ result: 'ERROR', retryable: false });
    expect(done.outcome!.reason).toContain(`commit ${missing} not found`);
  });

  it('times out: TIMED_OUT, and no process of the playbook is left on the bastion', async () => {
    const pidFile = join(world.records, 'timeout.pid');
    const r = await put(
      world,
      request(world, {
        playbook: 'playbooks/sleep.yml',
        vars: { pid_file: pidFile, seconds: 300 },
        timeoutMs: 3_000,
      }),
    );
    const done = await completed(world, r.id);
    expect(done.outcome).toMatchObject({ result: 'TIMED_OUT', retryable: false });
    expect(done.outcome!.reason).toMatch(/timed out after 3000 ms/);
    const pid = Number(readFileSync(pidFile, 'utf8'));
    expect(processesMatching('sleep 300').includes(pid)).toBe(false);
    expect(processesMatching(bastionBuildId(r.id))).toEqual([]);
  });

  it('cancels a running build when a scheduler sets cancelRequested', async () => {
    const r = await put(
      world,
      request(world, {
        playbook: 'playbooks/gate.yml',
        vars: { record_dir: world.records, name: 'cancel' },
      }),
    );
    await waitUntil(() => existsSync(join(world.records, 'cancel.pid')), 'the playbook to start');
    await requestDoc(world, r.id).update((cur) => ({ ...cur!, cancelRequested: true }));
    const done = await completed(world, r.id);
    expect(done.outcome).toMatchObject({ result: 'CANCELED', retryable: false });
    expect(done.cancelRequested).toBe(true);
    const pid = Number(readFileSync(join(world.records, 'cancel.pid'), 'utf8'));
    await waitUntil(() => !processesMatching('cancel.go').includes(pid), 'the gate loop to end');
  });

  it('streams a running build its log live, and ends the stream when the build ends', async () => {
    const r = await put(
      world,
      request(world, {
        playbook: 'playbooks/gate.yml',
        vars: { record_dir: world.records, name: 'live' },
      }),
    );
    await waitState(world, r.id, 'running');
    const live = await httpGet(`${executor.logStreamUrl}/builds/${r.id}/log?follow=1`);
    expect(live.status).toBe(200);
    let ended = false;
    void live.ended.then(() => (ended = true));
    await waitUntil(() => live.text().includes('gate live open'), 'the first line on the stream');
    expect((await read(world, r.id)).state).toBe('running');
    expect(ended).toBe(false);
    // A plain read with an offset returns the rest of what is there so far, and ends.
    const partial = await httpGet(`${executor.logStreamUrl}/builds/${r.id}/log?offset=10`);
    await partial.ended;
    expect(Buffer.byteLength(partial.text())).toBe(Number(partial.headers['x-log-size']) - 10);
    writeFileSync(join(world.records, 'live.go'), '');
    await live.ended;
    const done = await completed(world, r.id);
    expect(done.outcome?.result).toBe('SUCCESS');
    expect(live.text()).toContain('gate live passed');
    expect(live.text()).toBe(readFileSync(done.outcome!.logPath!, 'utf8'));
    const missing = await httpGet(`${executor.logStreamUrl}/builds/nope/log`);
    await missing.ended;
    expect(missing.status).toBe(404);
    const bad = await httpGet(`${executor.logStreamUrl}/builds/${r.id}/log?offset=-1`);
    await bad.ended;
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.text())).toMatchObject({
      error: { code: 'DRAWBRIDGE_ERR_EXECUTOR_LOG_OFFSET' },
    });
  });
});

/** Established TCP connections to the local port (server side), from /proc/net/tcp. */
function sshConnections(port: number): number {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  return readFileSync('/proc/net/tcp', 'utf8')
    .split('\n')
    .slice(1)
    .filter((l) => {
      const f = l.trim().split(/\s+/);
      return f[1]?.endsWith(`:${hex}`) && f[3] === '01';
    }).length;
}
