/**
 * The admin actions as a web daemon wires them (src/cli/daemon-admin.ts):
 * reconfigure validates and stores the layout, or answers 422 with every
 * error and leaves the running layout alone; rolling restart and executor
 * control go through src/ops, whose refusals keep their own codes.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { daemonAdminActions } from '../../src/cli/daemon-admin.js';
import { readCurrentLayout } from '../../src/model/layout-reconfigure.js';
import { Authenticator } from '../../src/web/index.js';
import { makeToken, newWorld, serveApp, type Served, type World } from './support.js';

const admin = makeToken('alice', 'admin');
const LAYOUT = `- pipeline:
    name: deploy
    manager: serial
    trigger:
      manual: true
- job:
    name: hello
    run: playbooks/hello.yml
- project:
    deploy:
      jobs: [hello]
`;

describe('admin actions of the web daemon', () => {
  let world: World;
  let served: Served;
  let dir: string;
  const layoutFile = () => join(dir, 'zuul.d', 'layout.yaml');

  const post = async (path: string) => {
    const response = await fetch(`${served.url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.token}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  beforeAll(async () => {
    world = await newWorld('admin-daemon');
    dir = mkdtempSync(join(tmpdir(), 'drawbridge-admin-'));
    mkdirSync(join(dir, 'zuul.d'));
    writeFileSync(layoutFile(), LAYOUT);
    const config = {
      layout: {
        paths: [join(dir, 'zuul.d')],
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
    served = await serveApp(world, {
      auth: new Authenticator({ readProtected: false, tokens: [admin.entry], jwt: undefined }),
      admin: daemonAdminActions({
        zk: world.zk,
        paths: world.paths,
        config,
        logger: world.logger,
        closing: () => undefined,
      }),
    });
  });

  afterAll(async () => {
    await served?.close();
    await world?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores a valid layout and makes it current', async () => {
    const { status, body } = await post('/api/admin/reconfigure');
    expect(status).toBe(202);
    expect(body).toMatchObject({ kind: 'reconfigure', state: 'switched' });
    const current = await readCurrentLayout(world.zk, world.paths);
    expect(current?.version).toBe(body.id);
    // The same layout again changes nothing.
    expect((await post('/api/admin/reconfigure')).body).toMatchObject({ state: 'unchanged' });
  });

  it('refuses an invalid layout with every error, and the running one stays', async () => {
    const before = (await readCurrentLayout(world.zk, world.paths))?.version;
    writeFileSync(layoutFile(), `${LAYOUT}- job:\n    name: broken\n    timeout: soon\n`);
    const { status, body } = await post('/api/admin/reconfigure');
    expect(status).toBe(422);
    const error = body.error as { code: string; message: string };
    expect(error.code).toBe('DRAWBRIDGE_ERR_WEB_BAD_REQUEST');
    expect(error.message).toMatch(/layout\.yaml:14: .*timeout/);
    expect((await readCurrentLayout(world.zk, world.paths))?.version).toBe(before);
  });

  it('refuses to restart the last scheduler, and names an unknown executor', async () => {
    const restart = await post('/api/admin/rolling-restart');
    expect(restart.status).toBe(409);
    expect((restart.body.error as { code: string }).code).toBe('DRAWBRIDGE_ERR_OPS_LAST_COMPONENT');
    const pause = await post('/api/executors/executor-nowhere-1-abc/pause');
    expect(pause.status).toBe(404);
    expect((pause.body.error as { code: string }).code).toBe('DRAWBRIDGE_ERR_OPS_COMPONENT');
  });
});
