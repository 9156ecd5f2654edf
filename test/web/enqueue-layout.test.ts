/**
 * An enqueue must name a pipeline of the layout ZooKeeper names current:
 * no scheduler reads the management queue of any other, so an accepted
 * event would wait there forever. Checked by the REST route (a 404 that
 * lists the known pipelines), so by `drawbridge api enqueue`, and by the
 * ZooKeeper-side `drawbridge enqueue`; also after a reconfiguration removed
 * the pipeline. Real ZooKeeper, real web app, the CLI as a real process once.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enqueueCommand } from '../../src/cli/admin-enqueue.js';
import { CliApiError } from '../../src/cli/api-client.js';
import { apiEnqueueCommand } from '../../src/cli/api-commands.js';
import { EXIT } from '../../src/cli/io.js';
import { LayoutStore, toStoredLayout } from '../../src/model/layout-store.js';
import { managementEventCodec, type ManagementEvent } from '../../src/model/index.js';
import { Authenticator } from '../../src/web/index.js';
import { ZkEventQueue, ZkPaths } from '../../src/zk/index.js';
import { drawbridgeOnce } from '../processes/support.js';
import { call, makeToken, newWorld, serveApp, type Served, type World } from './support.js';

const SHA = 'a'.repeat(40);
const operator = makeToken('ci-bot', 'operator');

const pipeline = (name: string) =>
  `- pipeline:\n    name: ${name}\n    manager: serial\n    trigger:\n      manual: true\n`;
const layoutText = (...pipelines: string[]) =>
  [
    ...pipelines.map(pipeline),
    '- job:\n    name: hello\n    run: playbooks/hello.yml\n',
    '- project:\n',
    ...pipelines.map((p) => `    ${p}:\n      jobs:\n        - hello\n`),
  ].join('');

let world: World;
let web: Served;
let dir: string;

/** Makes `version` current with the given pipelines, as a reconfiguration does. */
async function publish(
  w: { zk: World['zk']; paths: ZkPaths },
  version: string,
  ...names: string[]
) {
  await new LayoutStore(w.zk, w.paths).publish(
    toStoredLayout({
      version,
      commit: null,
      sources: [{ file: 'zuul.d/layout.yaml', text: layoutText(...names) }],
      loadOptions: {},
      storedBy: 'enqueue test',
      now: Date.now(),
    }),
  );
}

async function pending(pipelineName: string, paths = world.paths): Promise<ManagementEvent[]> {
  const queue = new ZkEventQueue(
    world.zk,
    paths.pipelineManagementEvents(pipelineName),
    managementEventCodec,
  );
  if ((await world.zk.exists(queue.entriesPath)) === null) return [];
  return (await queue.read()).map((e) => e.value);
}

const enqueue = (name: string) =>
  call(`${web.url}/api/pipelines/${name}/enqueue`, {
    method: 'POST',
    json: { commit: SHA },
    token: operator.token,
  });

function buffers() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    io: {
      stdout: { write: (t: string) => out.push(t) },
      stderr: { write: (t: string) => err.push(t) },
    },
    out: () => out.join(''),
    err: () => err.join(''),
  };
}

/** A daemon config for the ZooKeeper-side commands, rooted at `root` in the test's chroot. */
function configFile(root: string): string {
  const file = join(dir, `${root.replace(/\//g, '_')}.yaml`);
  // The config takes the server and a root; the world's connect string carries a chroot.
  const slash = world.connectString.indexOf('/');
  writeFileSync(
    file,
    `zookeeper:
  hosts: ${world.connectString.slice(0, slash)}
  root: ${world.connectString.slice(slash)}${root}
layout:
  paths: [${dir}]
repository:
  url: https://git.example.org/infra.git
  branch: main
bastion:
  host: 127.0.0.1
  user: deploy
  privateKey: ${join(dir, 'id_ed25519')}
  hostKey: "SHA256:${'A'.repeat(43)}"
state:
  dir: ${join(dir, 'state')}
`,
  );
  return file;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-enqueue-'));
  world = await newWorld('web-enqueue');
  await publish(world, 'v1', 'deploy', 'nightly');
  web = await serveApp(world, {
    auth: new Authenticator({ readProtected: false, tokens: [operator.entry], jwt: undefined }),
    defaultBranch: 'main',
  });
});
afterAll(async () => {
  await web?.close();
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('enqueue to a pipeline the current layout does not have', () => {
  it('REST: a pipeline removed by a reconfiguration is a 404 naming it and the known ones', async () => {
    expect((await enqueue('nightly')).status).toBe(202);
    expect(await pending('nightly')).toHaveLength(1);
    await publish(world, 'v2', 'deploy');

    const r = await enqueue('nightly');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({
      error: {
        code: 'DRAWBRIDGE_ERR_WEB_UNKNOWN',
        message: 'no pipeline "nightly" in the current layout (v2); it has: deploy',
      },
    });
    expect(await pending('nightly')).toHaveLength(1);

    const never = await enqueue('never-there');
    expect(never.status).toBe(404);
    expect((never.body as { error: { message: string } }).error.message).toMatch(
      /"never-there".*it has: deploy$/,
    );
    expect(await world.zk.exists(world.paths.pipelineManagementEvents('never-there'))).toBeNull();
    expect((await enqueue('deploy')).status).toBe(202);
  });

  it('drawbridge api enqueue: prints the server refusal and exits non-zero', async () => {
    const err = await apiEnqueueCommand(
      { url: web.url, pipeline: 'nightly', commit: SHA },
      { DRAWBRIDGE_TOKEN: operator.token },
      buffers().io,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliApiError);
    expect(err).toMatchObject({ status: 404, serverCode: 'DRAWBRIDGE_ERR_WEB_UNKNOWN' });
    expect((err as Error).message).toContain('no pipeline "nightly" in the current layout (v2)');

    const run = await drawbridgeOnce(
      ['api', 'enqueue', '--url', web.url, '--pipeline', 'nightly', '--commit', SHA],
      { DRAWBRIDGE_TOKEN: operator.token },
    );
    expect(run.code).toBe(EXIT.usage);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /404 no pipeline "nightly" in the current layout \(v2\); it has: deploy \[DRAWBRIDGE_ERR_WEB_UNKNOWN\]/,
    );
  });

  it('drawbridge enqueue (ZooKeeper side): refuses an unknown pipeline and puts nothing', async () => {
    const config = configFile('/drawbridge');
    const opts = { config, pipeline: 'nightly', commit: SHA, timeout: '5' };
    const before = await pending('nightly');
    await expect(enqueueCommand(opts, {}, buffers().io)).rejects.toMatchObject({
      code: 'DRAWBRIDGE_ERR_CLI_USAGE',
      option: '--pipeline',
      message: 'no pipeline "nightly" in the current layout (v2); it has: deploy',
    });
    expect(await pending('nightly')).toEqual(before);

    const ok = buffers();
    expect(await enqueueCommand({ ...opts, pipeline: 'deploy' }, {}, ok.io)).toBe(EXIT.ok);
    expect(ok.out()).toMatch(/^enqueued deploy at aaaaaaaaaaaa \(refs\/heads\/main\)/);
    expect((await pending('deploy')).at(-1)).toMatchObject({ type: 'enqueue', commit: SHA });
  });

  it('drawbridge enqueue (ZooKeeper side): refuses while no layout is current', async () => {
    const empty = new ZkPaths('/empty');
    const b = buffers();
    expect(
      await enqueueCommand(
        { config: configFile('/empty'), pipeline: 'deploy', commit: SHA, timeout: '5' },
        {},
        b.io,
      ),
    ).toBe(EXIT.invalid);
    expect(b.err()).toMatch(/cannot enqueue: no layout is current in ZooKeeper/);
    expect(await pending('deploy', empty)).toEqual([]);
  });
});
