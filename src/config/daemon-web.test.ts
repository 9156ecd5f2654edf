import { describe, expect, it } from '@jest/globals';
import { parseDaemonConfig } from './daemon-config.js';
import { describeConfig } from './daemon-describe.js';
import { formatDiagnostic } from './layout-diagnostics.js';

const FILE = '/etc/drawbridge/drawbridge.yaml';
const HASH = `sha256:${'0123456789abcdef'.repeat(4)}`;
const BASE = `zookeeper:
  hosts: [127.0.0.1:2181]
layout:
  paths: [zuul.d]
repository:
  url: https://git.example.org/infra.git
bastion:
  host: bastion.example.org
  user: deploy
  privateKey: id
  hostKey: SHA256:${'Ab3+/'.repeat(8)}xyz
`;

function load(web: string, env: Record<string, string> = {}) {
  const r = parseDaemonConfig({ file: FILE, text: `${BASE}web:\n${web}` }, { env });
  return {
    config: r.config,
    errors: r.errors.map(formatDiagnostic),
    warnings: r.warnings.map(formatDiagnostic),
  };
}

describe('web.readProtected', () => {
  it('is accepted with tokens to read with', () => {
    const r = load(
      `  readProtected: true\n  tokens:\n    - {name: dash, hash: "${HASH}", role: read}\n`,
    );
    expect(r.errors).toEqual([]);
    expect(r.config?.web.readProtected).toBe(true);
  });
});

describe('web.webhooks', () => {
  const env = {
    GH: 'github-secret-0123456789',
    GL: 'gitlab-token-0123456789',
  };

  it('takes one secret per provider from the environment; absent providers stay off', () => {
    const r = load(`  webhooks:\n    github: \${GH}\n    gitlab: \${GL}\n`, env);
    expect(r.errors).toEqual([]);
    expect(r.config?.web.webhooks).toEqual({ github: env.GH, gitlab: env.GL });
  });

  it('defaults to no webhooks', () => {
    expect(load('  readProtected: false\n').config?.web.webhooks).toEqual({});
  });

  it('warns of a secret written in the file; refuses a short one and an unknown provider', () => {
    expect(load('  webhooks:\n    github: github-secret-0123456789\n').warnings).toEqual([
      expect.stringContaining('web.webhooks.github: a secret is written in the file'),
    ]);
    expect(load('  webhooks:\n    gitea: ${S}\n', { S: 'short' }).errors).toEqual([
      expect.stringContaining('web.webhooks.gitea: expected a secret of at least 16 characters'),
    ]);
    expect(load('  webhooks:\n    bitbucket: ${GH}\n', env).errors).toEqual([
      expect.stringContaining('web.webhooks.bitbucket'),
    ]);
  });

  it('never prints the secrets', () => {
    const { config } = load(`  webhooks:\n    github: \${GH}\n    gitlab: \${GL}\n`, env);
    if (config === undefined) throw new Error('config did not load');
    const printed = JSON.stringify(describeConfig(config));
    expect(printed).not.toContain(env.GH);
    expect(printed).not.toContain(env.GL);
    expect(printed).toContain('"github":"***"');
  });
});

describe('web.jwt', () => {
  it('requires an audience with an RS256 public key, naming the key', () => {
    const r = load('  jwt:\n    issuer: https://idp.test\n    rs256PublicKey: jwt.pem\n');
    expect(r.errors).toEqual([
      expect.stringMatching(/:15: error: web\.jwt\.audience: required with rs256PublicKey/),
    ]);
    const ok = load('  jwt:\n    audience: drawbridge\n    rs256PublicKey: jwt.pem\n');
    expect(ok.errors).toEqual([]);
    expect(ok.config?.web.jwt).toMatchObject({
      audience: 'drawbridge',
      rs256PublicKey: '/etc/drawbridge/jwt.pem',
    });
  });

  it('leaves the audience optional with an HS256 secret only', () => {
    const r = load('  jwt:\n    hs256Secret: ${S}\n', { S: 'x'.repeat(32) });
    expect(r.errors).toEqual([]);
    expect(r.config?.web.jwt?.audience).toBeUndefined();
  });
});
