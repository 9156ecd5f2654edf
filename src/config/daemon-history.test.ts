import { describe, expect, it } from '@jest/globals';
import { describeConfig, parseDaemonConfig } from './daemon-config.js';
import { formatDiagnostic } from './layout-diagnostics.js';

const FILE = '/etc/drawbridge/drawbridge.yaml';
const BASE = `zookeeper:
  hosts: [127.0.0.1:2181]
layout:
  paths: [zuul.d]
repository:
  url: https://git.example.org/infra.git
bastion:
  host: bastion.example.org
  user: deploy
  privateKey: id_ed25519
  hostKey: SHA256:${'Ab3+/'.repeat(8)}xyz
state:
  dir: /srv/drawbridge
`;

function parse(history: string, env: Record<string, string> = {}) {
  const r = parseDaemonConfig({ file: FILE, text: `${BASE}history:\n${history}` }, { env });
  return {
    config: r.config,
    errors: r.errors.map(formatDiagnostic),
    warnings: r.warnings.map(formatDiagnostic),
  };
}

describe('daemon config: history', () => {
  it('defaults to SQLite under the state directory; a relative path is taken from the config file', () => {
    expect(parse('').config?.history).toEqual({
      kind: 'sqlite',
      path: '/srv/drawbridge/history.sqlite',
    });
    expect(parse('  path: db/history.sqlite\n').config?.history).toEqual({
      kind: 'sqlite',
      path: '/etc/drawbridge/db/history.sqlite',
    });
  });

  it('takes PostgreSQL with the password from the environment, and masks it when printed', () => {
    const secret = 's3cret-from-env';
    const r = parse(
      '  url: postgres://drawbridge@db.example.org:5432/drawbridge\n  password: ${PGPASS}\n',
      { PGPASS: secret },
    );
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
    expect(r.config?.history).toEqual({
      kind: 'postgres',
      url: 'postgres://drawbridge@db.example.org:5432/drawbridge',
      password: secret,
      passwordFile: undefined,
    });
    const printed = JSON.stringify(describeConfig(r.config!));
    expect(printed).not.toContain(secret);
    expect(printed).toContain('"password":"***"');
  });

  it('takes the password from a file given relative to the config file', () => {
    const r = parse('  url: postgresql://d@127.0.0.1/h\n  passwordFile: secrets/pg\n');
    expect(r.config?.history).toMatchObject({
      kind: 'postgres',
      password: undefined,
      passwordFile: '/etc/drawbridge/secrets/pg',
    });
  });

  it('refuses a password inside the URL without echoing it, and other URLs', () => {
    const r = parse('  url: postgres://d:hunter2@db/h\n');
    expect(r.errors).toHaveLength(1);
    expect(r.errors[0]).toMatch(/history\.url: expected .*without a password/);
    expect(r.errors[0]).toContain('DRAWBRIDGE_ERR_CONFIG_DAEMON_FORMAT');
    expect(parse('  url: mysql://db/h\n').errors[0]).toMatch(/history\.url: expected a URL/);
  });

  it('refuses options that do not go together, naming the key and line', () => {
    expect(parse('  url: postgres://d@db/h\n  path: h.sqlite\n').errors).toEqual([
      expect.stringMatching(/:16: error: history\.path: path is for SQLite.*CONFLICT/),
    ]);
    expect(
      parse('  url: postgres://d@db/h\n  password: ${P}\n  passwordFile: /p\n', { P: 'x' }).errors,
    ).toEqual([
      expect.stringMatching(/:17: error: history\.passwordFile: password and passwordFile/),
    ]);
    expect(parse('  passwordFile: /p\n').errors).toEqual([
      expect.stringMatching(/history\.passwordFile: passwordFile is for PostgreSQL/),
    ]);
  });

  it('warns about a password written in the file', () => {
    const r = parse('  url: postgres://d@db/h\n  password: literal-secret\n');
    expect(r.errors).toEqual([]);
    expect(r.warnings.join('\n')).toMatch(/history\.password: .*LITERAL_SECRET/);
    expect(r.warnings.join('\n')).not.toContain('literal-secret');
  });
});
