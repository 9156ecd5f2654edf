import { describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { Writable } from 'node:stream';
import {
  describeConfig,
  maskUrlPassword,
  parseDaemonConfig,
  redactPaths,
  type DaemonConfig,
} from './daemon-config.js';

const ZK_PASSWORD = 'zk-pass-7f3a9c';
const JWT_SECRET = 'jwt-secret-0123456789abcdef0123456789';
const GIT_TOKEN = 'ghp_gitToken123';
const HASH_A = `sha256:${'a1'.repeat(32)}`;
const HASH_B = `sha256:${'b2'.repeat(32)}`;
const SECRETS = [ZK_PASSWORD, JWT_SECRET, GIT_TOKEN, HASH_A, HASH_B];

const TEXT = `
zookeeper:
  hosts: [127.0.0.1:2181]
  auth: {user: drawbridge, password: "\${ZK_PASSWORD}"}
layout:
  paths: [zuul.d]
repository:
  url: https://deploy:\${GIT_TOKEN}@git.example.org/infra.git
bastion:
  host: bastion.example.org
  user: deploy
  privateKey: id_ed25519
  hostKey: SHA256:${'q'.repeat(43)}
web:
  tokens:
    - {name: ci, hash: "${HASH_A}", role: operator}
    - {name: ops, hash: "${HASH_B}", role: admin}
  jwt: {issuer: https://sso.example.org, hs256Secret: "\${JWT_SECRET}"}
`;

function config(): DaemonConfig {
  const r = parseDaemonConfig(
    { file: '/etc/drawbridge/drawbridge.yaml', text: TEXT },
    { env: { ZK_PASSWORD, JWT_SECRET, GIT_TOKEN } },
  );
  expect(r.errors).toEqual([]);
  return r.config!;
}

describe('describeConfig', () => {
  it('the config really holds the secrets (so the checks below can fail)', () => {
    const raw = JSON.stringify(config());
    for (const s of SECRETS) expect(raw).toContain(s);
  });

  it('never contains a secret, and masks exactly the secret values', () => {
    const shown = describeConfig(config());
    const text = JSON.stringify(shown);
    for (const s of SECRETS) expect(text).not.toContain(s);
    expect(shown).toMatchObject({
      zookeeper: { auth: { user: 'drawbridge', password: '***' } },
      repository: { url: 'https://deploy:***@git.example.org/infra.git' },
      web: {
        tokens: [
          { name: 'ci', hash: '***', role: 'operator' },
          { name: 'ops', hash: '***', role: 'admin' },
        ],
        jwt: { issuer: 'https://sso.example.org', hs256Secret: '***', rs256PublicKey: null },
      },
      bastion: { user: 'deploy', privateKey: '/etc/drawbridge/id_ed25519' },
    });
  });

  it('is a plain copy: absent options are null, the config itself is untouched', () => {
    const c = config();
    const shown = describeConfig(c) as Record<string, Record<string, unknown>>;
    expect(shown['layout']?.['project']).toBeNull();
    expect(c.zookeeper.auth?.password).toBe(ZK_PASSWORD);
    expect(JSON.parse(JSON.stringify(shown))).toEqual(shown);
  });

  it('leaves a config without secrets as it is', () => {
    const c = parseDaemonConfig(
      {
        file: '/x/d.yaml',
        text: TEXT.replace(/ {2}auth:.*\n/, '').replace(/web:[^]*$/, ''),
      },
      { env: { GIT_TOKEN } },
    ).config!;
    const shown = describeConfig(c) as Record<string, Record<string, unknown>>;
    expect(shown['zookeeper']?.['auth']).toBeNull();
    expect(shown['web']?.['jwt']).toBeNull();
    expect(shown['web']?.['tokens']).toEqual([]);
  });
});

describe('maskUrlPassword', () => {
  it('masks only the password of a URL', () => {
    expect(maskUrlPassword('https://u:p@h/x')).toBe('https://u:***@h/x');
    expect(maskUrlPassword('https://u@h/x')).toBe('https://u@h/x');
    expect(maskUrlPassword('git@github.com:o/r.git')).toBe('git@github.com:o/r.git');
    expect(maskUrlPassword('/srv/repo')).toBe('/srv/repo');
  });
});

describe('redactPaths', () => {
  it('makes pino drop every configured secret from a logged config', () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        lines.push(chunk.toString());
        done();
      },
    });
    const logger = pino({ redact: redactPaths.map((p) => `config.${p}`) }, sink);
    const c = config();
    logger.info({ config: c }, 'loaded');
    const out = lines.join('');
    expect(out).toContain('"password":"[Redacted]"');
    expect(out).toContain('"hs256Secret":"[Redacted]"');
    for (const s of [ZK_PASSWORD, JWT_SECRET, HASH_A, HASH_B]) expect(out).not.toContain(s);
    // The config object handed to the logger is not changed by redaction.
    expect(c.zookeeper.auth?.password).toBe(ZK_PASSWORD);
  });
});
