/**
 * The layout store in ZooKeeper and reconfigureLayout, on the shared
 * server: versions are immutable and content-named, the pointer switches
 * only for a valid layout, large layouts are sharded, old versions pruned.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LayoutSettings } from '../../src/config/layout-sources.js';
import { readCurrentLayout, reconfigureLayout } from '../../src/model/layout-reconfigure.js';
import { LayoutStore, toStoredLayout, type StoredLayout } from '../../src/model/layout-store.js';
import { ZkPaths } from '../../src/zk/paths.js';
import { connectZooKeeper, type ZooKeeperClient } from '../../src/zk/zk-client.js';
import { newChroot } from '../fixtures/zookeeper.js';

let zk: ZooKeeperClient;
let dir: string;
const paths = new ZkPaths('/drawbridge');

const PIPELINE = `- pipeline:
    name: deploy
    manager: serial
    trigger:
      manual: true
`;
const job = (name: string, extra = '') =>
  `- job:\n    name: ${name}\n    run: playbooks/${name}.yml\n${extra}`;
const project = (...jobs: string[]) =>
  `- project:\n    deploy:\n      jobs:\n${jobs.map((j) => `        - ${j}\n`).join('')}`;

function stored(version: string, text: string, now = Date.now()): StoredLayout {
  return toStoredLayout({
    version,
    commit: null,
    sources: [{ file: 'zuul.d/a.yaml', text }],
    loadOptions: {},
    storedBy: 'test',
    now,
  });
}

function settings(layoutDir: string): LayoutSettings {
  return {
    layout: {
      paths: [layoutDir],
      fromRepository: false,
      playbookDir: 'playbooks',
      project: undefined,
    },
    repository: {
      url: '/nowhere.git',
      branch: 'main',
      pollIntervalMs: 0,
      localPath: join(dir, 'clone'),
    },
    state: { dir: join(dir, 'state') },
  };
}

beforeAll(async () => {
  const chroot = await newChroot('ha-layout-store');
  zk = await connectZooKeeper({ connectString: chroot.connectString, sessionTimeoutMs: 4_000 });
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-layout-store-'));
});
afterAll(async () => {
  await zk?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('LayoutStore', () => {
  it('publishes, keeps a version immutable, and switches only when asked', async () => {
    const store = new LayoutStore(zk, new ZkPaths('/publish'));
    expect(await store.current()).toBeNull();
    const a = await store.publish(stored('files-a', PIPELINE));
    expect(a).toEqual({ version: 'files-a', previous: null, switched: true });
    expect(await store.publish(stored('files-a', PIPELINE))).toEqual({
      version: 'files-a',
      previous: 'files-a',
      switched: false,
    });
    // A cold-start publish with another layout while one is current adopts the current.
    const b = await store.publish(stored('files-b', `${PIPELINE}# b\n`), { onlyIfAbsent: true });
    expect(b).toEqual({ version: 'files-a', previous: 'files-a', switched: false });
    const c = await store.publish(stored('files-b', `${PIPELINE}# b\n`));
    expect(c).toEqual({ version: 'files-b', previous: 'files-a', switched: true });
    expect((await store.current())?.value).toMatchObject({
      version: 'files-b',
      previous: 'files-a',
    });
    expect((await store.read('files-a'))?.sources[0]?.text).toBe(PIPELINE);
  });

  it('shards a layout larger than a znode and reads it back whole', async () => {
    const p = new ZkPaths('/large');
    const store = new LayoutStore(zk, p);
    // 1.5 MB of comment: over jute.maxbuffer (1 MiB) in one node, still a valid layout.
    const text = `${PIPELINE}${job('a')}${project('a')}# ${'x'.repeat(1_500_000)}\n`;
    await store.publish(stored('files-large', text));
    expect((await store.read('files-large'))?.sources[0]?.text).toBe(text);
    const node = await zk.get(p.layoutVersion('files-large'));
    expect(node.data.length).toBeLessThan(10_000);
    const current = await readCurrentLayout(zk, p);
    expect(current?.version).toBe('files-large');
    expect([...(current?.layout.pipelines.keys() ?? [])]).toEqual(['deploy']);
  });

  it('prunes all but the newest versions and never the current one', async () => {
    const store = new LayoutStore(zk, new ZkPaths('/prune'));
    for (let i = 1; i <= 5; i++) await store.publish(stored(`files-${i}`, `${PIPELINE}# ${i}\n`));
    // Make the oldest current again: pruning must keep it although it is the oldest.
    await store.publish(stored('files-1', `${PIPELINE}# 1\n`));
    expect(await store.prune(2)).toEqual(['files-2', 'files-3']);
    expect(await store.versions()).toEqual(['files-1', 'files-4', 'files-5']);
  });
});

describe('reconfigureLayout', () => {
  it('refuses an invalid layout with every error, then stores a valid one', async () => {
    const layoutDir = join(dir, 'zuul.d');
    mkdirSync(layoutDir);
    writeFileSync(join(layoutDir, 'a.yaml'), `${PIPELINE}${job('a')}${project('a')}`);
    const first = await reconfigureLayout({
      zk,
      paths,
      config: settings(layoutDir),
      requestedBy: 'test',
    });
    expect(first).toMatchObject({ status: 'stored', previous: null, switched: true });
    const good = (await readCurrentLayout(zk, paths))?.version;
    expect(good).toBe(first.version);

    // Two mistakes in two places: both are reported, with file and line.
    writeFileSync(
      join(layoutDir, 'a.yaml'),
      `${PIPELINE}${job('a', '    timeout: soon\n')}${project('a', 'missing')}`,
    );
    const bad = await reconfigureLayout({
      zk,
      paths,
      config: settings(layoutDir),
      requestedBy: 'test',
    });
    expect(bad.status).toBe('invalid');
    if (bad.status !== 'invalid') return;
    expect(bad.errors.map((e) => [e.file, e.line, e.key ?? ''])).toEqual([
      [join(layoutDir, 'a.yaml'), 9, 'timeout'],
      [join(layoutDir, 'a.yaml'), 14, expect.any(String)],
    ]);
    expect(bad.errors.map((e) => e.message).join('\n')).toMatch(/missing/);
    expect((await readCurrentLayout(zk, paths))?.version).toBe(good);

    writeFileSync(join(layoutDir, 'b.yaml'), `${job('b')}${project('b')}`);
    writeFileSync(join(layoutDir, 'a.yaml'), `${PIPELINE}${job('a')}${project('a')}`);
    const next = await reconfigureLayout({
      zk,
      paths,
      config: settings(layoutDir),
      requestedBy: 'test',
    });
    expect(next).toMatchObject({ status: 'stored', previous: good, switched: true });
    const now = await readCurrentLayout(zk, paths);
    expect(now?.layout.pipelineJobs.get('deploy')?.map((j) => j.name)).toEqual(['a', 'b']);

    // The same files with another playbook directory are another layout, not "unchanged".
    const other = settings(layoutDir);
    const moved = await reconfigureLayout({
      zk,
      paths,
      config: { ...other, layout: { ...other.layout, playbookDir: 'plays' } },
      requestedBy: 'test',
    });
    expect(moved).toMatchObject({ status: 'stored', previous: next.version, switched: true });
    expect(moved.version).not.toBe(next.version);
  });
});
