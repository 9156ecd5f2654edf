import { describe, expect, it } from '@jest/globals';
import { parseDaemonConfig } from '../config/daemon-config.js';
import { prettyLine } from './log-pretty.js';
import { buildRootLogger } from './logger.js';

const SECRET = 'zk-secret-value';
const JWT = 'jwt-secret-value-0123456789-0123456789';
const HASH = `sha256:${'cd'.repeat(32)}`;

function config() {
  const { config, errors } = parseDaemonConfig(
    {
      file: '/etc/drawbridge/drawbridge.yaml',
      text: `zookeeper:
  hosts: [127.0.0.1:2181]
  auth: { user: db, password: "\${ZK}" }
layout: { paths: [zuul.d] }
repository: { url: /srv/repo.git }
bastion: { host: b, user: u, privateKey: /k, hostKey: "SHA256:${'A'.repeat(43)}" }
web:
  tokens: [{ name: ops, hash: "${HASH}", role: admin }]
  jwt: { hs256Secret: "\${JWT}" }
`,
    },
    { env: { ZK: SECRET, JWT } },
  );
  expect(errors).toEqual([]);
  return config!;
}

function capture(format: 'json' | 'pretty') {
  let out = '';
  const logger = buildRootLogger({ level: 'debug', format }, { write: (t: string) => (out += t) });
  return { logger, out: () => out };
}

describe('buildRootLogger', () => {
  it('redacts every secret of a logged config, at the top level or under `config`', () => {
    const c = config();
    const { logger, out } = capture('json');
    logger.debug({ config: c }, 'configuration');
    logger.info({ zookeeper: c.zookeeper, web: c.web }, 'sections');
    for (const secret of [SECRET, JWT, HASH]) expect(out()).not.toContain(secret);
    const [first] = out().trim().split('\n');
    expect(JSON.parse(first!)).toMatchObject({
      msg: 'configuration',
      config: { zookeeper: { auth: { user: 'db', password: '***' } } },
    });
  });

  it('writes pretty lines when asked, still redacted', () => {
    const { logger, out } = capture('pretty');
    logger
      .child({ component: 'executor' })
      .info({ slots: 4, config: config() }, 'executor running');
    expect(out()).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}\[executor\] executor running slots=4 /);
    expect(out()).not.toContain(SECRET);
  });
});

describe('prettyLine', () => {
  it('puts time, level, component and message first, then the fields', () => {
    const line = prettyLine(
      JSON.stringify({
        level: 40,
        time: Date.UTC(2026, 0, 1, 12, 0, 0, 5),
        pid: 1,
        hostname: 'h',
        component: 'web',
        msg: 'slow',
        url: '/api/status',
        ms: 1200,
      }),
    );
    expect(line).toBe('12:00:00.005 WARN  [web] slow url=/api/status ms=1200\n');
  });

  it('adds an error stack on indented lines, and passes non-JSON through', () => {
    const line = prettyLine(
      JSON.stringify({ level: 50, time: 0, msg: 'failed', err: { stack: 'Error: x\n    at y' } }),
    );
    expect(line).toBe('00:00:00.000 ERROR failed\n    Error: x\n        at y\n');
    expect(prettyLine('plain text\n')).toBe('plain text\n');
  });
});
