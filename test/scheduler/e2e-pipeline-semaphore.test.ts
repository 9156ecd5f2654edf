/**
 * Pipeline semaphores end to end: a buildset holds its pipeline's semaphores
 * from before its checkout until it ends, so a periodic pipeline sharing one
 * with the deploy pipeline never runs while a deploy does, and then runs. A
 * buildset that a dead scheduler left done, still queued and still holding,
 * gives its semaphores back when the next scheduler reconciles.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildsetCodec, pipelineStateCodec } from '../../src/model/index.js';
import { applyInput, createBuildset } from '../../src/scheduler/index.js';
import { pipelineJobs } from '../../src/config/index.js';
import { ZkDocument } from '../../src/zk/document.js';
import { ZkMutex } from '../../src/zk/lock.js';
import { listComponents } from '../../src/zk/registry.js';
import { parseLatencySnapshot } from '../../src/model/event-latency.js';
import { parseHolders, tryAcquireAll } from '../../src/zk/semaphore.js';
import { createE2eWorld, jobStanza, waitUntil, type E2eWorld } from './e2e-support.js';

const layout = (records: string): string =>
  [
    '- semaphore:\n    name: prod\n    max: 1\n',
    '- pipeline:\n    name: deploy\n    manager: serial\n    semaphore: prod\n    trigger:\n      manual: true\n',
    '- pipeline:\n    name: periodic\n    manager: independent\n    semaphores: [prod]\n    trigger:\n      manual: true\n',
    jobStanza('d-gate', records, '', { gate: true }),
    jobStanza('d-after', records, '    dependencies:\n      - d-gate\n'),
    jobStanza('p-one', records),
    '- project:\n    deploy:\n      jobs: [d-gate, d-after]\n    periodic:\n      jobs: [p-one]\n',
  ].join('\n');

describe('scheduler e2e: pipeline semaphores', () => {
  let w: E2eWorld;

  beforeAll(async () => {
    w = await createE2eWorld('pipeline-semaphore', layout);
    await w.startExecutor(4);
    await w.startScheduler();
    await w.startScheduler();
  }, 60_000);

  afterAll(async () => {
    await w?.dispose();
  });

  const holders = async (): Promise<string[]> => {
    const { zk, paths } = w.world;
    const node = await zk.get(paths.semaphore('prod')).catch(() => null);
    if (node === null || node.data.length === 0) return [];
    return parseHolders(JSON.parse(node.data.toString('utf8'))).map((h) => h.id);
  };

  it('keeps the periodic buildset queued, not even checked out, while a deploy runs', async () => {
    const deploy = await w.enqueue('deploy');
    await waitUntil(
      () => w.records().some((r) => r.buildset === deploy && r.job === 'd-gate'),
      'the deploy to run its gate job',
      30_000,
    );
    expect(await holders()).toEqual([deploy]);

    const periodic = await w.enqueue('periodic');
    await waitUntil(
      async () =>
        (await w.buildset('periodic', periodic))?.message === 'waiting for semaphore prod',
      'the periodic buildset to say it waits for the semaphore',
    );
    const waiting = await w.buildset('periodic', periodic);
    expect([waiting?.state, waiting?.checkout.state]).toEqual(['queued', 'WAITING']);
    expect(w.builds.filter((b) => b.request.buildsetId === periodic)).toEqual([]);

    writeFileSync(join(w.world.records, 'd-gate.go'), '');
    const [d, p] = await Promise.all([
      w.finished('deploy', deploy),
      w.finished('periodic', periodic),
    ]);
    expect([d.result, p.result, p.message]).toEqual(['SUCCESS', 'SUCCESS', null]);
    // The periodic buildset began (its checkout included) only after the deploy ended.
    expect(p.startedAt).not.toBeNull();
    expect(p.startedAt!).toBeGreaterThanOrEqual(d.endedAt!);
    const at = (bs: string, job: string, event: string) =>
      w.records().find((r) => r.buildset === bs && r.job === job && r.event === event)!.at;
    expect(at(periodic, 'p-one', 'start')).toBeGreaterThanOrEqual(at(deploy, 'd-after', 'end'));
    await waitUntil(async () => (await holders()).length === 0, 'the semaphore to be free');
    // The schedulers publish how long events took to be processed (for web's /metrics).
    const counted = async (queue: 'management' | 'result') => {
      const all = await listComponents(w.world.zk, w.world.paths.components('scheduler'));
      return all
        .map((c) => parseLatencySnapshot(c.extra['eventLatency'])[queue]?.count ?? 0)
        .reduce((a, b) => a + b, 0);
    };
    await waitUntil(
      async () => (await counted('management')) >= 2 && (await counted('result')) >= 5,
      'the schedulers to publish the latency of the two enqueues and the five builds',
    );
  });

  it('gives a cancelled deploy’s semaphore back at once', async () => {
    // Close the gate again: this deploy's gate job runs until it is cancelled.
    rmSync(join(w.world.records, 'd-gate.go'));
    const deploy = await w.enqueue('deploy');
    await waitUntil(async () => (await holders()).includes(deploy), 'the deploy to hold prod');
    const periodic = await w.enqueue('periodic');
    await waitUntil(
      async () =>
        (await w.buildset('periodic', periodic))?.message === 'waiting for semaphore prod',
      'the periodic buildset to wait',
    );
    await w.dequeue('deploy', deploy);
    const [d, p] = await Promise.all([
      w.finished('deploy', deploy),
      w.finished('periodic', periodic),
    ]);
    expect([d.result, p.result]).toEqual(['CANCELED', 'SUCCESS']);
    await waitUntil(async () => (await holders()).length === 0, 'the semaphore to be free');
  });

  it('releases what a scheduler that died after the final write still held', async () => {
    const { zk, paths } = w.world;
    const id = 'orphan-done';
    const created = createBuildset({
      id,
      pipeline: 'deploy',
      ref: 'refs/heads/main',
      commit: w.sha,
      oldCommit: null,
      trigger: { kind: 'manual', detail: 'finished by a scheduler that then died' },
      changedFiles: null,
      layoutVersion: 'e2e-layout',
      precedence: 'normal',
      semaphores: ['prod'],
      jobs: pipelineJobs(w.layout, 'deploy'),
      now: Date.now(),
    });
    if (created.kind !== 'created') throw new Error('expected a buildset');
    const started = applyInput(created.buildset, { type: 'start', requestId: `${id}-co` }, 1);
    const done = applyInput(started.buildset, { type: 'cancel', reason: 'test' }, 2).buildset;
    // Hold the pipeline's lock while writing what the dead scheduler left:
    // the running schedulers then skip the pipeline instead of racing us.
    const lock = new ZkMutex(zk, paths.pipelineLock('deploy'));
    await lock.acquire({ timeoutMs: 10_000 });
    const owner = paths.buildset('deploy', id);
    await new ZkDocument(zk, owner, buildsetCodec).create(done);
    const taken = await tryAcquireAll(zk, [{ path: paths.semaphore('prod'), max: 1 }], {
      id,
      owner,
    });
    expect(taken).toBe(true);
    const state = new ZkDocument(zk, paths.pipelineState('deploy'), pipelineStateCodec);
    const current = (await state.read())!;
    await state.write({ pipeline: 'deploy', queue: [...current.value.queue, id] }, current.version);
    await lock.release();
    expect(await holders()).toEqual([id]);

    const periodic = await w.enqueue('periodic');
    const p = await w.finished('periodic', periodic);
    expect(p.result).toBe('SUCCESS');
    await waitUntil(async () => (await holders()).length === 0, 'the orphan’s holder to go');
    await waitUntil(
      async () => !((await state.read())?.value.queue ?? []).includes(id),
      'the orphan to leave the queue',
    );
  });
});
