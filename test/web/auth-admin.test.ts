/**
 * Authentication and the admin actions: hashed bearer tokens with roles,
 * JWTs (HS256 and RS256), reads protected by config, and enqueue / dequeue /
 * promote landing as management events in ZooKeeper. No secret may show up
 * in an answer or in the log.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { SignJWT } from 'jose';
import { buildsetCodec, managementEventCodec } from '../../src/model/index.js';
import { buildset, job } from '../../src/scheduler/test-fixtures.js';
import { Authenticator, buildWebApp } from '../../src/web/index.js';
import { ZkDocument, ZkEventQueue } from '../../src/zk/index.js';
import {
  call,
  makeToken,
  newWorld,
  publishExampleLayout,
  serveApp,
  type Served,
  type World,
} from './support.js';

const HS_SECRET = 'hs256-secret-for-tests-0123456789abcdef';
const SHA = 'c'.repeat(40);
const reader = makeToken('dash', 'read');
const operator = makeToken('ci-bot', 'operator');
const admin = makeToken('alice', 'admin');
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const otherRsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const WEBHOOK_SECRETS = {
  github: 'github-webhook-secret-4f7a2c',
  gitlab: 'gitlab-webhook-token-9b1e3d',
};
const jwtConfig = {
  issuer: 'https://idp.test',
  audience: 'drawbridge',
  hs256Secret: HS_SECRET,
  rs256PublicKey: '/config/jwt.pem',
};

let world: World;
let open: Served;
let closed: Served;

function auth(readProtected: boolean): Authenticator {
  return new Authenticator({
    readProtected,
    tokens: [reader.entry, operator.entry, admin.entry],
    jwt: jwtConfig,
    rs256PublicKeyPem: rsaPem,
  });
}

async function hsJwt(claims: Record<string, unknown>, over: { exp?: string; iss?: string } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(over.iss ?? jwtConfig.issuer)
    .setAudience(jwtConfig.audience)
    .setSubject('jwt-user')
    .setIssuedAt()
    .setExpirationTime(over.exp ?? '5m')
    .sign(new TextEncoder().encode(HS_SECRET));
}

async function rsJwt(claims: Record<string, unknown>, key = rsa.privateKey) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'RS256' })
    .setIssuer(jwtConfig.issuer)
    .setAudience(jwtConfig.audience)
    .setSubject('rs-user')
    .setIssuedAt()
    .setExpirationTime('5m')
    .sign(key);
}

const rsaPem = rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString();
const now = () => Math.floor(Date.now() / 1000);

/** An HS256 token with exactly the time claims given (none by default). */
async function rawHsJwt(times: { iat?: number; nbf?: number; exp?: number }, key = HS_SECRET) {
  const jwt = new SignJWT({ role: 'admin', ...times })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(jwtConfig.issuer)
    .setAudience(jwtConfig.audience)
    .setSubject('raw');
  return jwt.sign(new TextEncoder().encode(key));
}

async function pendingEvents(pipeline: string) {
  const q = new ZkEventQueue(
    world.zk,
    world.paths.pipelineManagementEvents(pipeline),
    managementEventCodec,
  );
  return (await q.read()).map((e) => e.value);
}

beforeAll(async () => {
  world = await newWorld('web-auth');
  await publishExampleLayout(world);
  open = await serveApp(world, { auth: auth(false), defaultBranch: 'master' });
  closed = await serveApp(world, {
    auth: auth(true),
    defaultBranch: 'master',
    webhooks: WEBHOOK_SECRETS,
  });
});
afterAll(async () => {
  await open?.close();
  await closed?.close();
  await world?.close();
});

describe('reads', () => {
  it('are public unless protected by config', async () => {
    expect((await call(`${open.url}/api/pipelines`)).status).toBe(200);
    const r = await call(`${closed.url}/api/pipelines`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Bearer');
    expect((r.body as { error: { code: string } }).error.code).toBe(
      'DRAWBRIDGE_ERR_WEB_UNAUTHORIZED',
    );
    expect((await call(`${closed.url}/api/pipelines`, { token: reader.token })).status).toBe(200);
    expect((await call(`${closed.url}/api/status`, { token: 'wrong' })).status).toBe(401);
  });

  it('leave probes, the API description and the status page public even when protected', async () => {
    for (const path of [
      '/api/health',
      '/api/ready',
      '/openapi.json',
      '/docs',
      '/docs/',
      '/',
      '/ui/app.js',
      '/ui/style.css',
    ])
      expect({ path, status: (await call(`${closed.url}${path}`)).status }).toEqual({
        path,
        status: 200,
      });
  });

  it('protect /metrics, history and build logs when protected', async () => {
    for (const path of ['/metrics', '/api/buildsets', '/api/builds/bs-1-j-base/log']) {
      const r = await call(`${closed.url}${path}`);
      expect({ path, status: r.status, auth: r.headers.get('www-authenticate') }).toEqual({
        path,
        status: 401,
        auth: 'Bearer',
      });
    }
    expect((await call(`${closed.url}/metrics`, { token: reader.token })).status).toBe(200);
    // Past authentication, the log route looks for the build (none here).
    const log = await call(`${closed.url}/api/builds/bs-1-j-base/log`, { token: reader.token });
    expect([log.status, (log.body as { error: { code: string } }).error.code]).toEqual([
      404,
      'DRAWBRIDGE_ERR_WEB_LOG_NOT_FOUND',
    ]);
  });

  it('answer an unknown URL with 404, not 401, when protected', async () => {
    for (const path of ['/api/nope', '/nope', '/docsx', '/openapi.json/x']) {
      const r = await call(`${closed.url}${path}`);
      expect({
        path,
        status: r.status,
        code: (r.body as { error: { code: string } }).error.code,
      }).toEqual({ path, status: 404, code: 'DRAWBRIDGE_ERR_WEB_NOT_FOUND' });
    }
  });

  it('treat only /docs and what lies under /docs/ as the public API description', async () => {
    const app = buildWebApp({
      zk: world.zk,
      paths: world.paths,
      logger: world.logger,
      auth: auth(true),
    });
    app.get('/docsecret', () => ({ secret: true }));
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      expect((await call(`${url}/docsecret`)).status).toBe(401);
      expect((await call(`${url}/docsecret`, { token: reader.token })).status).toBe(200);
      expect((await call(`${url}/docs/json`)).status).toBe(200);
    } finally {
      await app.close();
    }
  });
});

describe('enqueue', () => {
  const url = () => `${open.url}/api/pipelines/deploy/enqueue`;

  it('needs credentials (401) and the operator role (403)', async () => {
    expect((await call(url(), { method: 'POST', json: { commit: SHA } })).status).toBe(401);
    const r = await call(url(), { method: 'POST', json: { commit: SHA }, token: reader.token });
    expect(r.status).toBe(403);
    expect(r.body).toEqual({
      error: {
        code: 'DRAWBRIDGE_ERR_WEB_FORBIDDEN',
        message: 'this needs the operator role; the credentials give read',
      },
    });
    expect(await pendingEvents('deploy')).toEqual([]);
  });

  it('puts an enqueue event on the pipeline management queue', async () => {
    const r = await call(url(), { method: 'POST', json: { commit: SHA }, token: operator.token });
    expect(r.status).toBe(202);
    const id = (r.body as { id: string }).id;
    expect(await pendingEvents('deploy')).toEqual([
      {
        type: 'enqueue',
        id,
        pipeline: 'deploy',
        ref: 'refs/heads/master',
        commit: SHA,
        requestedBy: 'rest (token ci-bot)',
        requestedAt: expect.any(Number),
      },
    ]);
  });

  it('takes an explicit ref, and refuses bad input with 400 and unknown pipelines with 404', async () => {
    const ok = await call(`${open.url}/api/pipelines/periodic/enqueue`, {
      method: 'POST',
      json: { commit: SHA, ref: 'refs/tags/v1.0' },
      token: admin.token,
    });
    expect(ok.status).toBe(202);
    expect(
      (await pendingEvents('periodic')).map((e) => (e.type === 'enqueue' ? e.ref : '')),
    ).toEqual(['refs/tags/v1.0']);
    for (const json of [{}, { commit: 'abc' }, { commit: SHA, ref: 'main' }, { commit: SHA, x: 1 }])
      expect({
        json,
        status: (await call(url(), { method: 'POST', json, token: admin.token })).status,
      }).toEqual({
        json,
        status: 400,
      });
    const unknown = await call(`${open.url}/api/pipelines/nope/enqueue`, {
      method: 'POST',
      json: { commit: SHA },
      token: admin.token,
    });
    expect(unknown.status).toBe(404);
  });
});

describe('dequeue and promote', () => {
  beforeAll(async () => {
    const bs = buildset([job('base')], { id: 'bs-admin', pipeline: 'hourly' });
    await new ZkDocument(world.zk, world.paths.buildset('hourly', bs.id), buildsetCodec).update(
      () => bs,
    );
  });

  it('put their events for an existing buildset, 404 for an unknown one', async () => {
    for (const verb of ['dequeue', 'promote'] as const) {
      const r = await call(`${open.url}/api/pipelines/hourly/buildsets/bs-admin/${verb}`, {
        method: 'POST',
        token: operator.token,
      });
      expect(r.status).toBe(202);
    }
    expect(
      (await pendingEvents('hourly')).map((e) => [e.type, 'buildsetId' in e ? e.buildsetId : '']),
    ).toEqual([
      ['dequeue', 'bs-admin'],
      ['promote', 'bs-admin'],
    ]);
    const missing = await call(`${open.url}/api/pipelines/hourly/buildsets/bs-none/dequeue`, {
      method: 'POST',
      token: operator.token,
    });
    expect(missing.status).toBe(404);
    expect((missing.body as { error: { code: string } }).error.code).toBe(
      'DRAWBRIDGE_ERR_WEB_UNKNOWN',
    );
  });
});

describe('actions not wired yet', () => {
  it('answer 501 with a code for an admin, after 401/403 for others', async () => {
    const cases: [string, string][] = [
      ['POST', '/api/admin/reconfigure'],
      ['POST', '/api/admin/rolling-restart'],
      ['POST', '/api/executors/ex-1/pause'],
      ['POST', '/api/executors/ex-1/resume'],
      ['POST', '/api/executors/ex-1/drain'],
    ];
    for (const [method, path] of cases) {
      expect((await call(`${open.url}${path}`, { method })).status).toBe(401);
      expect((await call(`${open.url}${path}`, { method, token: operator.token })).status).toBe(
        403,
      );
      const r = await call(`${open.url}${path}`, { method, token: admin.token });
      expect({
        path,
        status: r.status,
        code: (r.body as { error: { code: string } }).error.code,
      }).toEqual({
        path,
        status: 501,
        code: 'DRAWBRIDGE_ERR_WEB_NOT_IMPLEMENTED',
      });
    }
    const op = await call(`${open.url}/api/admin/operations/op-1`);
    expect(op.status).toBe(501);
  });
});

describe('JWT', () => {
  const url = () => `${open.url}/api/pipelines/deploy/enqueue`;
  const post = (token: string) => call(url(), { method: 'POST', json: { commit: SHA }, token });

  it('accepts HS256 and RS256 tokens whose role claim allows the route', async () => {
    expect((await post(await hsJwt({ role: 'operator' }))).status).toBe(202);
    expect((await post(await rsJwt({ roles: ['read', 'admin'] }))).status).toBe(202);
    const names = (await pendingEvents('deploy')).map((e) => e.requestedBy);
    expect(names).toEqual(expect.arrayContaining(['rest (jwt jwt-user)', 'rest (jwt rs-user)']));
  });

  it('refuses expired, foreign, wrongly signed or role-less tokens', async () => {
    expect((await post(await hsJwt({ role: 'admin' }, { exp: '-1m' }))).status).toBe(401);
    expect((await post(await hsJwt({ role: 'admin' }, { iss: 'https://evil.test' }))).status).toBe(
      401,
    );
    expect((await post(await rsJwt({ role: 'admin' }, otherRsa.privateKey))).status).toBe(401);
    expect((await post(await hsJwt({ role: 'read' }))).status).toBe(403);
    expect((await post(await hsJwt({}))).status).toBe(403);
    const unsigned = `${Buffer.from('{"alg":"none"}').toString('base64url')}.${Buffer.from('{"role":"admin"}').toString('base64url')}.`;
    expect((await post(unsigned)).status).toBe(401);
  });

  it('refuses a token without exp or iat, one not valid yet, and one older than the maximum age', async () => {
    const t = now();
    const cases: [string, { iat?: number; nbf?: number; exp?: number }][] = [
      ['no exp', { iat: t }],
      ['no iat', { exp: t + 300 }],
      ['nbf in 5 minutes', { iat: t, nbf: t + 300, exp: t + 600 }],
      ['issued 25 h ago, exp in a year', { iat: t - 25 * 3600, exp: t + 365 * 86_400 }],
    ];
    for (const [what, times] of cases) {
      const r = await post(await rawHsJwt(times));
      expect({
        what,
        status: r.status,
        code: (r.body as { error: { code: string } }).error.code,
      }).toEqual({ what, status: 401, code: 'DRAWBRIDGE_ERR_WEB_UNAUTHORIZED' });
    }
    // Clocks disagree a little: 10 s of skew either way is tolerated.
    for (const times of [
      { iat: t + 10, nbf: t + 10, exp: t + 300 },
      { iat: t - 600, exp: t - 10 },
    ])
      expect({ times, status: (await post(await rawHsJwt(times))).status }).toEqual({
        times,
        status: 202,
      });
  });

  it('refuses HS256 signed with the RS256 public key as the secret (key confusion)', async () => {
    expect((await post(await rawHsJwt({ iat: now(), exp: now() + 300 }, rsaPem))).status).toBe(401);
    // Also where HS256 is not configured at all, only the RSA key.
    const rsOnly = new Authenticator({
      readProtected: true,
      tokens: [],
      jwt: { ...jwtConfig, hs256Secret: undefined },
      rs256PublicKeyPem: rsaPem,
    });
    const forged = await rawHsJwt({ iat: now(), exp: now() + 300 }, rsaPem);
    await expect(rsOnly.authenticate(`Bearer ${forged}`)).rejects.toMatchObject({
      code: 'DRAWBRIDGE_ERR_WEB_UNAUTHORIZED',
    });
    await expect(rsOnly.authenticate(`Bearer ${await rsJwt({ role: 'read' })}`)).resolves.toEqual({
      name: 'rs-user',
      role: 'read',
      via: 'jwt',
    });
  });

  it('will not verify RS256 tokens without an audience to check', () => {
    expect(
      () =>
        new Authenticator({
          readProtected: true,
          tokens: [],
          jwt: { ...jwtConfig, audience: undefined },
          rs256PublicKeyPem: rsaPem,
        }),
    ).toThrow(/web cannot use web\.jwt\.audience: required with web\.jwt\.rs256PublicKey/);
  });
});

describe('secrets', () => {
  it('never appear in answers or in the log', async () => {
    const secrets = [
      reader.token,
      operator.token,
      admin.token,
      HS_SECRET,
      WEBHOOK_SECRETS.github,
      WEBHOOK_SECRETS.gitlab,
      ...[reader, operator, admin].map((t) => t.entry.hash.slice(7)),
    ];
    const answers = await Promise.all(
      ['/api/info', '/api/status', '/openapi.json', '/api/jobs', '/metrics'].map(
        async (p) => (await call(`${closed.url}${p}`, { token: admin.token })).text,
      ),
    );
    expect(answers[0]).toContain('github');
    // Failed logins log at debug: make sure those lines exist, then that none holds a secret.
    await call(`${closed.url}/api/info`, { token: `${admin.token}x` });
    expect(world.logLines.some((l) => l.includes('request refused'))).toBe(true);
    // Webhooks, accepted and refused: the answers and their log lines hold no secret either.
    const body = JSON.stringify({ ref: 'refs/heads/master', before: SHA, after: 'd'.repeat(40) });
    const hook = (provider: string, headers: Record<string, string>) =>
      call(`${closed.url}/api/webhooks/${provider}`, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...headers },
      });
    const signature = createHmac('sha256', WEBHOOK_SECRETS.github).update(body).digest('hex');
    const hooks = [
      await hook('github', {
        'x-github-event': 'push',
        'x-hub-signature-256': `sha256=${signature}`,
      }),
      await hook('github', { 'x-github-event': 'push', 'x-hub-signature-256': 'sha256=00' }),
      await hook('gitlab', {
        'x-gitlab-event': 'Push Hook',
        'x-gitlab-token': WEBHOOK_SECRETS.gitlab,
      }),
      await hook('gitlab', { 'x-gitlab-event': 'Push Hook', 'x-gitlab-token': 'wrong-token' }),
    ];
    expect(hooks.map((h) => h.status)).toEqual([202, 401, 202, 401]);
    expect(world.logLines.some((l) => l.includes('webhook queued a trigger event'))).toBe(true);
    answers.push(...hooks.map((h) => h.text));
    for (const s of secrets) {
      for (const a of answers) expect(a.includes(s)).toBe(false);
      for (const l of world.logLines) expect(l.includes(s)).toBe(false);
    }
  });
});
