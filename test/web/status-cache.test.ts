/**
 * The cached `/api/status` body: built once per change (watches on the
 * pipelines and their summaries), shared by concurrent requests, rebuilt
 * when a summary changes or a pipeline appears, bounded by a maximum age,
 * and served gzipped with an ETag.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { gunzipSync } from 'node:zlib';
import pino from 'pino';
import { writeStatus } from '../../src/scheduler/runtime/status-writer.js';
import { buildset, job } from '../../src/scheduler/test-fixtures.js';
import { acceptsGzip, readStatuses } from '../../src/web/routes-status.js';
import { StatusCache } from '../../src/web/status-cache.js';
import { waitUntil } from '../fixtures/wait.js';
import { newWorld, serveApp, type Served, type World } from './support.js';

const silent = pino({ level: 'silent' });

describe('acceptsGzip', () => {
  it.each([
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.8', true],
    ['*', true],
    ['gzip;q=0', false],
    ['identity', false],
    [undefined, false],
    ['', false],
  ])('%s → %s', (header, expected) => {
    expect(acceptsGzip(header)).toBe(expected);
  });
});

describe('StatusCache against ZooKeeper', () => {
  let world: World;
  let served: Served;

  const publish = async (pipeline: string, id: string) => {
    const bs = buildset([job('a')], { id, pipeline });
    await writeStatus(world.zk, world.paths, {
      state: { pipeline, queue: [id] },
      manager: 'serial',
      buildsets: new Map([[id, bs]]),
      now: Date.now(),
    });
  };

  beforeAll(async () => {
    world = await newWorld('status-cache');
    await publish('deploy', 'first');
    served = await serveApp(world);
  });

  afterAll(async () => {
    await served?.close();
    await world?.close();
  });

  it('reads once for any number of requests while nothing changes', async () => {
    let reads = 0;
    const read = () => {
      reads += 1;
      return readStatuses(world.zk, world.paths, silent);
    };
    const cache = new StatusCache(world.zk, world.paths, silent, read, 60_000);
    cache.start();
    try {
      // Arming the watches counts as a change (a write may have come between
      // the first read and the arming): let that settle first.
      await waitUntil(
        async () => (await cache.get()) === (await cache.get()),
        'the cache to settle after its watches are armed',
      );
      const before = reads;
      const answers = await Promise.all(Array.from({ length: 20 }, () => cache.get()));
      expect(new Set(answers).size).toBe(1);
      await cache.get();
      expect(reads).toBe(before);
      const parsed = JSON.parse(answers[0]!.body.toString('utf8')) as { pipelines: unknown[] };
      expect(parsed.pipelines).toHaveLength(1);
      expect(gunzipSync(answers[0]!.gzip).equals(answers[0]!.body)).toBe(true);

      await publish('deploy', 'second');
      await waitUntil(
        async () => (await cache.get()).body.includes('"second"'),
        'the cache to see the new summary',
      );
      await publish('other', 'third');
      await waitUntil(
        async () => (await cache.get()).body.includes('"other"'),
        'the cache to see the new pipeline',
      );
    } finally {
      cache.stop();
    }
  });

  it('rebuilds after its maximum age even without watches', async () => {
    let t = 0;
    let reads = 0;
    const cache = new StatusCache(
      world.zk,
      world.paths,
      silent,
      () => {
        reads += 1;
        return readStatuses(world.zk, world.paths, silent);
      },
      1_000,
      () => t,
    );
    await cache.get();
    t = 999;
    await cache.get();
    expect(reads).toBe(1);
    t = 1_000;
    await cache.get();
    expect(reads).toBe(2);
  });

  it('answers with an ETag, 304 when it still matches, and gzip when asked', async () => {
    // fetch asks for gzip unless told otherwise.
    const identity = { 'accept-encoding': 'identity' };
    const first = await fetch(`${served.url}/api/status`, { headers: identity });
    const etag = first.headers.get('etag');
    expect(first.status).toBe(200);
    expect(etag).toMatch(/^"[A-Za-z0-9_-]{27}"$/);
    expect(first.headers.get('content-encoding')).toBeNull();
    const text = await first.text();
    const again = await fetch(`${served.url}/api/status`, {
      headers: { ...identity, 'if-none-match': etag! },
    });
    expect(again.status).toBe(304);
    const zipped = await fetch(`${served.url}/api/status`, {
      headers: { 'accept-encoding': 'gzip' },
    });
    expect(zipped.headers.get('content-encoding')).toBe('gzip');
    expect(Number(zipped.headers.get('content-length'))).toBeLessThan(Buffer.byteLength(text));
    expect(await zipped.text()).toBe(text); // fetch inflates it
  });
});
