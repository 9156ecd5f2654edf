/**
 * Webhooks: a push whose signature (GitHub, Gitea, generic) or token
 * (GitLab) checks out becomes a ref-updated event on the global trigger
 * queue; anything else is refused before it touches ZooKeeper.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { createHash, createHmac } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadLayoutFromSources } from '../../src/config/index.js';
import { triggerEventCodec } from '../../src/model/index.js';
import { TriggerRouter } from '../../src/scheduler/runtime/routing.js';
import { ZkEventQueue } from '../../src/zk/index.js';
import { call, newWorld, serveApp, type Served, type World } from './support.js';

const SECRETS = {
  github: 'github-secret-0123456789',
  gitea: 'gitea-secret-0123456789',
  gitlab: 'gitlab-token-0123456789',
  generic: 'generic-secret-0123456789',
};
const EXAMPLE = new URL('../../config/example/zuul.d/', import.meta.url).pathname;
const OLD = 'a'.repeat(40);
const NEW = 'b'.repeat(40);

let world: World;
let web: Served;
let queue: ZkEventQueue<unknown>;

const hmac = (secret: string, body: string) =>
  createHmac('sha256', secret).update(body).digest('hex');
/** The event id a delivery of `body` gets: its provider and the hash of the bytes. */
const eventId = (provider: string, body: string) =>
  `webhook-${provider}-${createHash('sha256').update(body).digest('hex')}`;

function push(extra: Record<string, unknown> = {}) {
  return JSON.stringify({
    ref: 'refs/heads/master',
    before: OLD,
    after: NEW,
    pusher: { name: 'alice' },
    commits: [
      { added: ['roles/a.yaml'], modified: ['inventory/hosts'], removed: [] },
      { added: [], modified: ['roles/a.yaml'], removed: ['old.txt'] },
    ],
    ...extra,
  });
}

function deliver(provider: string, body: string, headers: Record<string, string>) {
  return call(`${web.url}/api/webhooks/${provider}`, {
    method: 'POST',
    body,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

async function queued() {
  return (await queue.read()).map((e) => e.value);
}

beforeAll(async () => {
  world = await newWorld('web-hooks');
  web = await serveApp(world, { webhooks: SECRETS });
  queue = new ZkEventQueue(world.zk, world.paths.triggerEvents(), triggerEventCodec);
});
beforeEach(async () => {
  for (const e of await queue.read()) await queue.ack(e.id);
});
afterAll(async () => {
  await web?.close();
  await world?.close();
});

const expectedEvent = (provider: string, body: string) => ({
  type: 'ref-updated',
  id: eventId(provider, body),
  ref: 'refs/heads/master',
  oldCommit: OLD,
  newCommit: NEW,
  changedFiles: ['inventory/hosts', 'old.txt', 'roles/a.yaml'],
  source: 'webhook',
  detail: `push by alice (${provider} webhook)`,
  receivedAt: expect.any(Number),
});

describe('signed pushes become trigger events', () => {
  it('github (X-Hub-Signature-256)', async () => {
    const body = push();
    const r = await deliver('github', body, {
      'x-github-event': 'push',
      'x-github-delivery': 'd-1',
      'x-hub-signature-256': `sha256=${hmac(SECRETS.github, body)}`,
    });
    expect(r.status).toBe(202);
    expect(r.body).toEqual({ status: 'queued', eventId: eventId('github', body) });
    expect(await queued()).toEqual([expectedEvent('github', body)]);
  });

  it('gitea (X-Gitea-Signature)', async () => {
    const body = push();
    const r = await deliver('gitea', body, {
      'x-gitea-event': 'push',
      'x-gitea-delivery': 'g-1',
      'x-gitea-signature': hmac(SECRETS.gitea, body),
    });
    expect(r.status).toBe(202);
    expect(await queued()).toEqual([expectedEvent('gitea', body)]);
  });

  it('gitlab (X-Gitlab-Token)', async () => {
    const body = push({ pusher: undefined, user_username: 'alice' });
    const r = await deliver('gitlab', body, {
      'x-gitlab-event': 'Push Hook',
      'x-gitlab-event-uuid': 'l-1',
      'x-gitlab-token': SECRETS.gitlab,
    });
    expect(r.status).toBe(202);
    expect(await queued()).toEqual([expectedEvent('gitlab', body)]);
  });

  it('generic (X-Drawbridge-Signature), unknown files meaning every job', async () => {
    const body = JSON.stringify({ ref: 'refs/heads/master', oldCommit: null, newCommit: NEW });
    const r = await deliver('generic', body, {
      'x-drawbridge-signature': `sha256=${hmac(SECRETS.generic, body)}`,
    });
    expect(r.status).toBe(202);
    expect(await queued()).toEqual([
      expect.objectContaining({ oldCommit: null, newCommit: NEW, changedFiles: null }),
    ]);
  });

  it('verifies the bytes as sent: odd whitespace, key order and \\u escapes still match', async () => {
    // Any re-serialisation of this body would change its bytes, and so its signature.
    const body = `{\r\n\t"after" :"${NEW}",  "ref":"refs\\/heads\\u002fmaster" ,\n"before":"${OLD}",
      "pusher":{"name":"\\u0061lice"}   }\n`;
    expect(JSON.parse(body)).toMatchObject({ ref: 'refs/heads/master', pusher: { name: 'alice' } });
    const r = await deliver('github', body, {
      'x-github-event': 'push',
      'x-hub-signature-256': `sha256=${hmac(SECRETS.github, body)}`,
    });
    expect([r.status, r.body]).toEqual([
      202,
      { status: 'queued', eventId: eventId('github', body) },
    ]);
    expect(await queued()).toEqual([
      expect.objectContaining({
        ref: 'refs/heads/master',
        detail: 'push by alice (github webhook)',
      }),
    ]);
  });

  it('a captured delivery sent again under a fresh delivery id is the same event', async () => {
    const body = push();
    const send = (delivery: string) =>
      deliver('github', body, {
        'x-github-event': 'push',
        'x-github-delivery': delivery,
        'x-hub-signature-256': `sha256=${hmac(SECRETS.github, body)}`,
      });
    const first = await send('original-1');
    const replay = await send('fresh-2');
    expect([first.status, replay.status]).toEqual([202, 202]);
    expect((replay.body as { eventId: string }).eventId).toBe(
      (first.body as { eventId: string }).eventId,
    );
    // Both wait on the queue under one id: the buildset id derives from it, so one runs.
    expect(new Set((await queued()).map((e) => (e as { id: string }).id)).size).toBe(1);
  });
});

describe('refused or ignored deliveries', () => {
  it('a wrong or missing signature is a 401 and queues nothing', async () => {
    const body = push();
    const cases: [string, Record<string, string>][] = [
      [
        'github',
        { 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${hmac('wrong', body)}` },
      ],
      ['github', { 'x-github-event': 'push' }],
      ['gitea', { 'x-gitea-event': 'push', 'x-gitea-signature': hmac(SECRETS.github, body) }],
      ['gitlab', { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': `${SECRETS.gitlab}x` }],
      ['generic', { 'x-drawbridge-signature': 'sha256=00' }],
    ];
    for (const [provider, headers] of cases) {
      const r = await deliver(provider, body, headers);
      expect({ provider, status: r.status, body: r.body }).toEqual({
        provider,
        status: 401,
        body: {
          error: { code: 'DRAWBRIDGE_ERR_WEB_WEBHOOK_REJECTED', message: expect.any(String) },
        },
      });
      expect(r.text.includes(SECRETS.gitlab)).toBe(false);
    }
    // A body changed after signing no longer matches.
    const tampered = await deliver('github', push({ ref: 'refs/heads/evil' }), {
      'x-github-event': 'push',
      'x-hub-signature-256': `sha256=${hmac(SECRETS.github, body)}`,
    });
    expect(tampered.status).toBe(401);
    expect(await queued()).toEqual([]);
  });

  it('a provider without a configured secret is a 404, an unknown one a 400', async () => {
    const bare = await serveApp(world);
    // Secrets the config would refuse, passed straight in: still not an open door.
    const weak = await serveApp(world, { webhooks: { github: '', gitea: 'short-secret' } });
    try {
      const body = push();
      for (const [served, secret] of [
        [bare, ''],
        [weak, ''],
      ] as const) {
        const r = await call(`${served.url}/api/webhooks/github`, {
          method: 'POST',
          body,
          headers: {
            'content-type': 'application/json',
            'x-github-event': 'push',
            'x-hub-signature-256': `sha256=${hmac(secret, body)}`,
          },
        });
        expect(r.status).toBe(404);
      }
      const gitea = await call(`${weak.url}/api/webhooks/gitea`, {
        method: 'POST',
        body,
        headers: {
          'content-type': 'application/json',
          'x-gitea-event': 'push',
          'x-gitea-signature': hmac('short-secret', body),
        },
      });
      expect(gitea.status).toBe(404);
      expect((await deliver('bitbucket', body, {})).status).toBe(400);
      expect(await queued()).toEqual([]);
    } finally {
      await bare.close();
      await weak.close();
    }
  });

  it('pings and deleted refs are acknowledged but queue nothing; bad payloads are a 400', async () => {
    const sign = (body: string) => `sha256=${hmac(SECRETS.github, body)}`;
    const ping = JSON.stringify({ zen: 'hi' });
    const p = await deliver('github', ping, {
      'x-github-event': 'ping',
      'x-hub-signature-256': sign(ping),
    });
    expect(p.status).toBe(200);
    expect(p.body).toMatchObject({ status: 'ignored' });
    const del = push({ after: '0'.repeat(40) });
    expect(
      (await deliver('github', del, { 'x-github-event': 'push', 'x-hub-signature-256': sign(del) }))
        .body,
    ).toMatchObject({ status: 'ignored' });
    const refs = [
      'main',
      'refs/heads/a b',
      'refs/heads/x\ny',
      'refs/heads/ü',
      `refs/${'x'.repeat(251)}`,
    ];
    for (const bad of [
      '{"ref": 1}',
      '[1,2]',
      'not json',
      push({ after: 'xyz' }),
      ...refs.map((ref) => push({ ref })),
    ]) {
      const r = await deliver('github', bad, {
        'x-github-event': 'push',
        'x-hub-signature-256': sign(bad),
      });
      expect({ bad, status: r.status }).toEqual({ bad, status: 400 });
    }
    expect(await queued()).toEqual([]);
  });
});

describe('what the schedulers do with it', () => {
  it('routes a webhook event to the pipelines whose triggers match (the scheduler code, for real)', async () => {
    const layout = loadLayoutFromSources(
      readdirSync(EXAMPLE)
        .filter((f) => f.endsWith('.yaml'))
        .map((f) => ({ file: f, text: readFileSync(join(EXAMPLE, f), 'utf8') })),
    ).layout;
    if (layout === undefined) throw new Error('the example layout does not load');
    const router = new TriggerRouter(world.zk, world.paths, layout, world.logger);
    await router.init();
    const body = push();
    const r = await deliver('github', body, {
      'x-github-event': 'push',
      'x-github-delivery': 'route-1',
      'x-hub-signature-256': `sha256=${hmac(SECRETS.github, body)}`,
    });
    expect(r.status).toBe(202);
    expect(await router.routeAll(10)).toBe(1);
    const deploy = new ZkEventQueue(
      world.zk,
      world.paths.pipelineTriggerEvents('deploy'),
      triggerEventCodec,
    );
    expect((await deploy.read()).map((e) => e.value.id)).toEqual([eventId('github', body)]);
  });
});
