/**
 * `drawbridge config check` and the commands this build cannot run: what an
 * operator sees on stdout and stderr, and the exit codes.
 */
import { afterAll, beforeAll, describe, expect, it, jest } from '@jest/globals';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { drawbridgeOnce, writeConfig } from './support.js';

// Real processes start slowly on a loaded machine (each compiles the sources).
jest.setTimeout(120_000);

const ZK_PASSWORD = 'zk-password-that-must-not-show';
const JWT_SECRET = 'jwt-secret-that-must-not-show-0123456789';
const HASH = `sha256:${'ab'.repeat(32)}`;

let dir: string;
let config: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'drawbridge-proc-check-'));
  config = writeConfig(dir, {
    zookeeper: '127.0.0.1:2181',
    root: '/drawbridge',
    logRoot: join(dir, 'logs'),
    webPort: 9000,
    logPort: 7901,
  });
  // Secrets in every place the config holds one: ZooKeeper auth, web tokens, JWT.
  writeFileSync(
    config,
    readFileSync(config, 'utf8')
      .replace(
        'root: /drawbridge',
        'root: /drawbridge\n  auth:\n    user: drawbridge\n    password: ${ZK_PASSWORD}',
      )
      .replace(
        /web:\n {2}listen: (.*)\n/,
        `web:\n  listen: $1\n  tokens:\n    - name: ops\n      hash: ${HASH}\n      role: admin\n` +
          '  jwt:\n    hs256Secret: ${JWT_SECRET}\n',
      ),
  );
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('drawbridge config check', () => {
  const env = { ZK_PASSWORD, JWT_SECRET };

  it('prints the config as loaded with every secret masked', async () => {
    const r = await drawbridgeOnce(['config', 'check', '--config', config], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/valid \(secrets shown as \*\*\*\)/);
    expect(r.stdout).toMatch(/sessionTimeoutMs: 4000/);
    for (const secret of [ZK_PASSWORD, JWT_SECRET, HASH]) expect(r.stdout).not.toContain(secret);
  });

  it('--json prints the same as JSON, secrets masked', async () => {
    const r = await drawbridgeOnce(['config', 'check', '--json', '--config', config], env);
    expect(r.code).toBe(0);
    const c = JSON.parse(r.stdout) as {
      zookeeper: { auth: { user: string; password: string } };
      web: { tokens: { name: string; hash: string }[]; jwt: { hs256Secret: string } };
    };
    expect(c.zookeeper.auth).toEqual({ user: 'drawbridge', password: '***' });
    expect(c.web.tokens).toEqual([expect.objectContaining({ name: 'ops', hash: '***' })]);
    expect(c.web.jwt.hs256Secret).toBe('***');
  });

  it('exits 1 with file:line errors, an unset variable among them', async () => {
    const r = await drawbridgeOnce(['config', 'check', '--config', config], { JWT_SECRET });
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`^${config}:\\d+: error: zookeeper.auth.password: .*ZK_PASSWORD`, 'm'),
    );
    expect(r.stderr).toMatch(/^drawbridge: .*\(DRAWBRIDGE_ERR_CONFIG_DAEMON_INVALID\)$/m);
  });

  it('takes the file from DRAWBRIDGE_CONFIG, and says so when neither is given', async () => {
    const viaEnv = await drawbridgeOnce(['config', 'check'], { ...env, DRAWBRIDGE_CONFIG: config });
    expect(viaEnv.code).toBe(0);
    const missing = await drawbridgeOnce(['config', 'check']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--config');
  });
});
