/**
 * `drawbridge api ...` against a real web app: tables by default, JSON with
 * --json, the token from the environment or a file, and the server's error
 * code in the message when the API refuses.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApiClient, CliApiError } from '../../src/cli/api-client.js';
import {
  apiBuildsetCommand,
  apiComponentsCommand,
  apiEnqueueCommand,
  apiPlanCommand,
  apiStatusCommand,
} from '../../src/cli/api-commands.js';
import { EXIT } from '../../src/cli/io.js';
import { managementEventCodec } from '../../src/model/index.js';
import { Authenticator } from '../../src/web/index.js';
import { ZkEventQueue } from '../../src/zk/index.js';
import {
  makeToken,
  newWorld,
  publishExampleLayout,
  serveApp,
  type Served,
  type World,
} from './support.js';

const SHA = 'e'.repeat(40);
const operator = makeToken('cli', 'operator');
const reader = makeToken('viewer', 'read');

let world: World;
let web: Served;
let dir: string;

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

beforeAll(async () => {
  world = await newWorld('web-cli');
  await publishExampleLayout(world);
  web = await serveApp(world, {
    auth: new Authenticator({
      readProtected: true,
      tokens: [operator.entry, reader.entry],
      jwt: undefined,
    }),
    defaultBranch: 'master',
  });
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-cli-client-'));
});
afterAll(async () => {
  await web?.close();
  await world?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('drawbridge api', () => {
  it('status and components print tables with a token from the environment', async () => {
    const env = { DRAWBRIDGE_URL: web.url, DRAWBRIDGE_TOKEN: reader.token };
    const s = buffers();
    expect(await apiStatusCommand({}, env, s.io)).toBe(EXIT.ok);
    expect(s.out()).toBe('no pipeline has run yet\n');
    const c = buffers();
    expect(await apiComponentsCommand({ kind: 'web' }, env, c.io)).toBe(EXIT.ok);
    expect(c.out()).toBe('no component is registered\n');
    const j = buffers();
    expect(await apiComponentsCommand({ json: true }, env, j.io)).toBe(EXIT.ok);
    expect(JSON.parse(j.out())).toEqual({ components: [] });
  });

  it('enqueue and dequeue act with a token from --token-file, and say what they did', async () => {
    const file = join(dir, 'token');
    writeFileSync(file, `${operator.token}\n`);
    const e = buffers();
    const opts = { url: web.url, tokenFile: file };
    expect(await apiEnqueueCommand({ ...opts, pipeline: 'deploy', commit: SHA }, {}, e.io)).toBe(
      EXIT.ok,
    );
    expect(e.out()).toMatch(/^enqueued deploy at eeeeeeeeeeee: event rest-/);
    const queue = new ZkEventQueue(
      world.zk,
      world.paths.pipelineManagementEvents('deploy'),
      managementEventCodec,
    );
    expect((await queue.read()).map((x) => x.value)).toEqual([
      expect.objectContaining({ type: 'enqueue', commit: SHA, requestedBy: 'rest (token cli)' }),
    ]);
    // No such buildset: the server's 404 and its code reach the user.
    await expect(
      apiBuildsetCommand(
        'dequeue',
        { ...opts, pipeline: 'deploy', buildset: 'bs-x' },
        {},
        buffers().io,
      ),
    ).rejects.toThrow(/404 no buildset "deploy\/bs-x" \[DRAWBRIDGE_ERR_WEB_UNKNOWN\]/);
  });

  it('plan renders the server plan like the local command', async () => {
    const env = { DRAWBRIDGE_URL: web.url, DRAWBRIDGE_TOKEN: reader.token };
    const p = buffers();
    expect(await apiPlanCommand({ pipeline: 'deploy', files: 'README.md' }, env, p.io)).toBe(
      EXIT.ok,
    );
    expect(p.out()).toMatch(
      /^pipeline deploy: 1 changed file\(s\)\n {2}README.md\n\nselected \d+ of \d+ jobs:/,
    );
  });

  it('a refusal is a CliApiError naming the status and code, never the token', async () => {
    const err = await apiEnqueueCommand(
      { url: web.url, pipeline: 'deploy', commit: SHA },
      { DRAWBRIDGE_TOKEN: reader.token },
      buffers().io,
    ).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(CliApiError);
    expect((err as CliApiError).message).toContain('403');
    expect((err as CliApiError).serverCode).toBe('DRAWBRIDGE_ERR_WEB_FORBIDDEN');
    expect((err as CliApiError).message).not.toContain(reader.token);
    const unreachable = await apiStatusCommand(
      { url: 'http://127.0.0.1:1' },
      {},
      buffers().io,
    ).catch((e: unknown) => e);
    expect((unreachable as CliApiError).message).toMatch(/unreachable/);
  });

  it('gives up on a server that never answers, after DRAWBRIDGE_API_TIMEOUT seconds', async () => {
    // Accepts the connection and then says nothing, like a hung process behind a firewall.
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => sockets.add(socket));
    silent.listen(0, '127.0.0.1');
    await new Promise((r) => silent.once('listening', r));
    const port = (silent.address() as { port: number }).port;
    try {
      const err = await apiStatusCommand(
        { url: `http://127.0.0.1:${port}` },
        { DRAWBRIDGE_API_TIMEOUT: '0.3' },
        buffers().io,
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(CliApiError);
      expect((err as CliApiError).message).toMatch(/no answer within 0\.3 s/);
      await expect(ApiClient.from({}, { DRAWBRIDGE_API_TIMEOUT: 'soon' })).rejects.toMatchObject({
        code: 'DRAWBRIDGE_ERR_CLI_USAGE',
      });
      expect((await ApiClient.from({}, {})).timeoutMs).toBe(30_000);
      expect(
        (await ApiClient.from({ timeoutMs: 5 }, { DRAWBRIDGE_API_TIMEOUT: '9' })).timeoutMs,
      ).toBe(5);
    } finally {
      for (const socket of sockets) socket.destroy();
      silent.close();
    }
  });

  it('warns on stderr when the token would cross the network over plain http', async () => {
    const env = { DRAWBRIDGE_TOKEN: reader.token };
    const warned = async (url: string, e: Record<string, string> = env) => {
      const lines: string[] = [];
      await ApiClient.from({ url }, e, (l) => lines.push(l));
      return lines.join('');
    };
    const remote = await warned('http://deploy.example.org:9000');
    expect(remote).toMatch(
      /warning: the API token goes to deploy\.example\.org over plain http:\/\//,
    );
    expect(remote).not.toContain(reader.token);
    expect(await warned('http://10.0.0.5:9000')).toContain('10.0.0.5');
    for (const url of [
      'https://deploy.example.org',
      'http://127.0.0.1:9000',
      'http://localhost:9000',
      'http://[::1]:9000',
    ])
      expect({ url, warning: await warned(url) }).toEqual({ url, warning: '' });
    expect(await warned('http://deploy.example.org:9000', {})).toBe('');
    // Through a command, the warning reaches its stderr.
    const b = buffers();
    await apiStatusCommand(
      { url: 'http://192.0.2.1:9' },
      { ...env, DRAWBRIDGE_API_TIMEOUT: '0.2' },
      b.io,
    ).catch(() => undefined);
    expect(b.err()).toContain('warning: the API token goes to 192.0.2.1');
  });
});
