import { describe, expect, it } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  daemonConfigOrThrow,
  DaemonConfigInvalidError,
  loadDaemonConfig,
  parseDaemonConfig,
  type DaemonConfig,
} from './daemon-config.js';
import { formatDiagnostic } from './layout-diagnostics.js';

const FILE = '/etc/drawbridge/drawbridge.yaml';
const PIN = `SHA256:${'Ab3+/'.repeat(8)}xyz`;

type Env = Record<string, string | undefined>;
type Over = Record<string, Record<string, string | undefined> | undefined>;

const BASE: Over = {
  zookeeper: { hosts: '[127.0.0.1:2181]' },
  layout: { paths: '[zuul.d]' },
  repository: { url: 'https://git.example.org/infra.git' },
  bastion: {
    host: 'bastion.example.org',
    user: 'deploy',
    privateKey: 'keys/id_ed25519',
    hostKey: PIN,
  },
};

/** The minimal valid config with keys replaced, added, or (undefined) removed. */
function render(over: Over = {}): string {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(BASE), ...Object.keys(over)])) {
    if (name in over && over[name] === undefined) continue;
    out.push(`${name}:`);
    for (const [k, v] of Object.entries({ ...BASE[name], ...over[name] })) {
      if (v !== undefined) out.push(`  ${k}: ${v}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function parse(text: string, env: Env = {}) {
  return parseDaemonConfig({ file: FILE, text }, { env });
}

function loaded(text: string, env: Env = {}): DaemonConfig {
  const r = parse(text, env);
  expect(r.errors.map(formatDiagnostic)).toEqual([]);
  return r.config!;
}

function errors(text: string, env: Env = {}): string[] {
  const r = parse(text, env);
  expect(r.config).toBeUndefined();
  return r.errors.map(formatDiagnostic);
}

/** The 1-based line of the first line containing `needle`. */
function at(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" is not in the config`);
  return i + 1;
}

const E = (line: number, key: string, message: string, code: string) =>
  `${FILE}:${line}: error: ${key}: ${message} (DRAWBRIDGE_ERR_CONFIG_${code})`;

describe('parseDaemonConfig: defaults and normalisation', () => {
  it('fills every default of a minimal config, paths from the config directory', () => {
    expect(loaded(render())).toEqual({
      file: FILE,
      zookeeper: {
        hosts: [{ host: '127.0.0.1', port: 2181 }],
        connectString: '127.0.0.1:2181',
        root: '/drawbridge',
        sessionTimeoutMs: 30_000,
        connectTimeoutMs: 10_000,
        auth: undefined,
      },
      layout: {
        paths: ['/etc/drawbridge/zuul.d'],
        fromRepository: false,
        playbookDir: 'playbooks',
        project: undefined,
      },
      repository: {
        url: 'https://git.example.org/infra.git',
        branch: 'master',
        pollIntervalMs: 60_000,
        localPath: '/var/lib/drawbridge/repository',
      },
      bastion: {
        host: 'bastion.example.org',
        port: 22,
        user: 'deploy',
        privateKey: '/etc/drawbridge/keys/id_ed25519',
        hostKeys: [PIN],
        workspaceRoot: '/var/lib/drawbridge/workspaces',
        sessionLimit: 10,
        keepWorkspaces: 10,
        commitSource: 'fetch',
        keepaliveMs: 15_000,
      },
      executor: {
        slots: 4,
        logRoot: '/var/log/drawbridge/builds',
        logStream: { host: '127.0.0.1', port: 7901 },
        killGraceMs: 10_000,
        jobNice: 10,
        jobCpuPolicy: 'batch',
      },
      scheduler: { timers: true, statusIntervalMs: 1000 },
      web: {
        listen: { host: '127.0.0.1', port: 9000 },
        publicUrl: undefined,
        readProtected: false,
        tokens: [],
        jwt: undefined,
        webhooks: {},
      },
      history: { kind: 'sqlite', path: '/var/lib/drawbridge/history.sqlite' },
      state: { dir: '/var/lib/drawbridge' },
      log: { level: 'info', format: 'json' },
    });
  });

  it('is deeply frozen', () => {
    const c = loaded(render());
    expect(Object.isFrozen(c.bastion.hostKeys)).toBe(true);
    expect(() => {
      (c.web.listen as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it('zookeeper: a connect string, IPv6 in brackets, seconds to ms, digest auth', () => {
    const c = loaded(
      render({
        zookeeper: {
          hosts: '"zk1.example.org:2181, [fd00::1]:2182,10.0.0.3:2181"',
          root: '/drawbridge/prod',
          sessionTimeout: '2.5',
          connectTimeout: '4',
          auth: '{user: drawbridge, password: "${ZK_PASSWORD}"}',
        },
      }),
      { ZK_PASSWORD: 's3cret' },
    );
    expect(c.zookeeper).toEqual({
      hosts: [
        { host: 'zk1.example.org', port: 2181 },
        { host: 'fd00::1', port: 2182 },
        { host: '10.0.0.3', port: 2181 },
      ],
      connectString: 'zk1.example.org:2181,[fd00::1]:2182,10.0.0.3:2181',
      root: '/drawbridge/prod',
      sessionTimeoutMs: 2500,
      connectTimeoutMs: 4000,
      auth: { user: 'drawbridge', password: 's3cret' },
    });
  });

  it('layout: paths from the repository stay relative and normalised; one string is a list', () => {
    const inRepo = loaded(
      render({
        layout: {
          fromRepository: 'true',
          paths: '[./zuul.d/, zuul.yaml]',
          playbookDir: 'deploy/playbooks/',
          project: 'opendev/system-config',
        },
      }),
    );
    expect(inRepo.layout).toEqual({
      paths: ['zuul.d', 'zuul.yaml'],
      fromRepository: true,
      playbookDir: 'deploy/playbooks',
      project: 'opendev/system-config',
    });
    const local = loaded(render({ layout: { paths: '/srv/infra/zuul.d' } }));
    expect(local.layout.paths).toEqual(['/srv/infra/zuul.d']);
    const relative = loaded(render({ layout: { paths: '[../infra/zuul.d]' } }));
    expect(relative.layout.paths).toEqual(['/etc/infra/zuul.d']);
  });

  it('repository: localPath defaults under state.dir, relative paths from the config directory', () => {
    const c = loaded(
      render({
        repository: { branch: 'main', pollInterval: '0' },
        state: { dir: 'state' },
      }),
    );
    expect(c.state.dir).toBe('/etc/drawbridge/state');
    expect(c.repository).toEqual({
      url: 'https://git.example.org/infra.git',
      branch: 'main',
      pollIntervalMs: 0,
      localPath: '/etc/drawbridge/state/repository',
    });
    const own = loaded(render({ repository: { localPath: '/srv/clone' } }));
    expect(own.repository.localPath).toBe('/srv/clone');
  });

  it('bastion: every option, a list of host key pins, bracketed IPv6 host', () => {
    const line = `bastion.example.org ssh-ed25519 ${ed25519Blob()}`;
    const c = loaded(
      render({
        bastion: {
          host: '"[fd00::7]"',
          port: '2222',
          privateKey: '/home/drawbridge/.ssh/id_ed25519',
          hostKey: `\n    - ${PIN}\n    - "${line}"`,
          workspaceRoot: '/srv/drawbridge/ws/',
          sessionLimit: '40',
          keepWorkspaces: '0',
          commitSource: 'push',
          keepalive: '0',
        },
      }),
    );
    expect(c.bastion).toEqual({
      host: 'fd00::7',
      port: 2222,
      user: 'deploy',
      privateKey: '/home/drawbridge/.ssh/id_ed25519',
      hostKeys: [PIN, line],
      workspaceRoot: '/srv/drawbridge/ws',
      sessionLimit: 40,
      keepWorkspaces: 0,
      commitSource: 'push',
      keepaliveMs: 0,
    });
  });

  it('executor, scheduler, log', () => {
    const c = loaded(
      render({
        executor: {
          slots: '8',
          logRoot: 'logs',
          logStream: '0.0.0.0:7902',
          killGrace: '0.5',
          jobNice: '0',
          jobCpuPolicy: 'normal',
        },
        scheduler: { timers: 'false', statusInterval: '0.25' },
        log: { level: 'debug', format: 'pretty' },
      }),
    );
    expect(c.executor).toEqual({
      slots: 8,
      logRoot: '/etc/drawbridge/logs',
      logStream: { host: '0.0.0.0', port: 7902 },
      killGraceMs: 500,
      jobNice: 0,
      jobCpuPolicy: 'normal',
    });
    expect(c.scheduler).toEqual({ timers: false, statusIntervalMs: 250 });
    expect(c.log).toEqual({ level: 'debug', format: 'pretty' });
  });

  it('web: tokens by hash (lowercased), jwt with a public key file, public URL without trailing slash', () => {
    const hash = `sha256:${'AB12'.repeat(16)}`;
    const c = loaded(
      render({
        web: {
          listen: '"[::]:9443"',
          publicUrl: 'https://drawbridge.example.org/',
          readProtected: 'true',
          tokens: `\n    - {name: ci, hash: "${hash}", role: operator}`,
          jwt: '\n    issuer: https://sso.example.org\n    audience: drawbridge\n    rs256PublicKey: jwt.pem',
        },
      }),
    );
    expect(c.web).toEqual({
      listen: { host: '::', port: 9443 },
      publicUrl: 'https://drawbridge.example.org',
      readProtected: true,
      tokens: [{ name: 'ci', hash: hash.toLowerCase(), role: 'operator' }],
      jwt: {
        issuer: 'https://sso.example.org',
        audience: 'drawbridge',
        hs256Secret: undefined,
        rs256PublicKey: '/etc/drawbridge/jwt.pem',
      },
      webhooks: {},
    });
  });

  it('an empty value (`key:` or ~) means the default', () => {
    const c = loaded(
      render({ bastion: { port: '~' }, web: { publicUrl: '' }, scheduler: undefined }),
    );
    expect(c.bastion.port).toBe(22);
    expect(c.web.publicUrl).toBeUndefined();
  });

  it('YAML anchors and merge keys work', () => {
    const text = `${render()}executor: &ex\n  slots: 2\nscheduler:\n  <<: {timers: false}\n`;
    const c = loaded(text);
    expect(c.executor.slots).toBe(2);
    expect(c.scheduler.timers).toBe(false);
  });
});

describe('parseDaemonConfig: ${NAME} interpolation', () => {
  it('substitutes present variables, defaults, and several references in one value', () => {
    const text = render({
      repository: { url: 'https://${GIT_HOST}/${GIT_ORG:-infra}/repo.git' },
      bastion: { user: '${BASTION_USER:-deploy}' },
    });
    const c = loaded(text, { GIT_HOST: 'git.example.org' });
    expect(c.repository.url).toBe('https://git.example.org/infra/repo.git');
    expect(c.bastion.user).toBe('deploy');
    expect(loaded(text, { GIT_HOST: 'h', GIT_ORG: 'ops', BASTION_USER: 'ci' }).bastion.user).toBe(
      'ci',
    );
  });

  it('numbers and booleans may come from the environment', () => {
    const text = render({
      bastion: { port: '${SSH_PORT}' },
      scheduler: { timers: '${TIMERS:-false}', statusInterval: '${STATUS:-0.5}' },
    });
    const c = loaded(text, { SSH_PORT: '2200' });
    expect(c.bastion.port).toBe(2200);
    expect(c.scheduler).toEqual({ timers: false, statusIntervalMs: 500 });
  });

  it('a missing variable without a default is an error naming it, at its line and key', () => {
    const text = render({
      zookeeper: { auth: '{user: drawbridge, password: "${ZK_PASSWORD}"}' },
      bastion: { port: '${SSH_PORT}' },
    });
    expect(errors(text)).toEqual([
      E(
        at(text, 'auth:'),
        'zookeeper.auth.password',
        'environment variable ZK_PASSWORD is not set (set it, or write ${ZK_PASSWORD:-default})',
        'DAEMON_ENV',
      ),
      E(
        at(text, 'port:'),
        'bastion.port',
        'environment variable SSH_PORT is not set (set it, or write ${SSH_PORT:-default})',
        'DAEMON_ENV',
      ),
    ]);
  });

  it('an optional value that comes out empty (${X:-}) is left at its default', () => {
    const text = render({
      bastion: { port: '${SSH_PORT:-}' },
      scheduler: { timers: '${TIMERS:-}' },
      web: { publicUrl: '${PUBLIC_URL:-}' },
    });
    const c = loaded(text);
    expect(c.bastion.port).toBe(22);
    expect(c.scheduler.timers).toBe(true);
    expect(c.web.publicUrl).toBeUndefined();
    expect(loaded(text, { PUBLIC_URL: 'https://db.example.org' }).web.publicUrl).toBe(
      'https://db.example.org',
    );
  });

  it('a required value that comes out empty is missing, at its own line', () => {
    const text = render({
      bastion: { host: '${BASTION_HOST:-}' },
      web: { jwt: '{hs256Secret: "${JWT_SECRET:-}"}' },
    });
    expect(errors(text)).toEqual([
      E(
        at(text, 'host:'),
        'bastion.host',
        'required: the bastion host name or address (empty after ${} substitution)',
        'MISSING',
      ),
      E(
        at(text, 'jwt:'),
        'web.jwt',
        'required: hs256Secret or rs256PublicKey, to verify token signatures',
        'MISSING',
      ),
    ]);
  });

  it('a value from the environment is validated like a written one', () => {
    const text = render({ bastion: { port: '${SSH_PORT}', host: '${HOST}' } });
    expect(errors(text, { SSH_PORT: 'ssh', HOST: 'no such host' })).toEqual([
      E(
        at(text, 'host:'),
        'bastion.host',
        'expected a host name or IP address, got "no such host" (after ${} substitution)',
        'DAEMON_FORMAT',
      ),
      E(
        at(text, 'port:'),
        'bastion.port',
        'expected an integer, got "ssh" (after ${} substitution)',
        'TYPE',
      ),
    ]);
  });

  it('$$ is a literal $, and a lone $ stays as written', () => {
    const text = render({ repository: { url: 'https://git.example.org/$$HOME/$x/a$.git' } });
    expect(loaded(text).repository.url).toBe('https://git.example.org/$HOME/$x/a$.git');
  });

  it('a malformed or unterminated reference is an error', () => {
    const text = render({ bastion: { user: '"${1USER}"' }, repository: { branch: '"${BRANCH"' } });
    expect(errors(text)).toEqual([
      E(
        at(text, 'branch:'),
        'repository.branch',
        'unterminated "${" (write "$${" for a literal "${")',
        'DAEMON_ENV',
      ),
      E(
        at(text, 'user:'),
        'bastion.user',
        '"${1USER}" is not a reference: expected ${NAME} or ${NAME:-default}',
        'DAEMON_ENV',
      ),
    ]);
  });
});

describe('parseDaemonConfig: unknown keys', () => {
  it('is an error at the key, with a did-you-mean, in every section and at the top', () => {
    const text = `${render({
      bastion: { hostkey: PIN, hostKey: undefined, session_limit: '4', frobnicate: '1' },
    })}zookeper:\n  hosts: x\nweb:\n  tokens:\n    - {name: a, hash: "sha256:${'0'.repeat(64)}", role: read, scope: all}\n`;
    expect(errors(text)).toEqual([
      E(
        at(text, 'bastion:'),
        'bastion.hostKey',
        'required: the bastion host key: a "SHA256:..." fingerprint or a known_hosts line',
        'MISSING',
      ),
      E(
        at(text, 'hostkey:'),
        'bastion.hostkey',
        'unknown key "hostkey" (did you mean "hostKey"?)',
        'UNKNOWN_KEY',
      ),
      E(
        at(text, 'session_limit:'),
        'bastion.session_limit',
        'unknown key "session_limit" (did you mean "sessionLimit"?)',
        'UNKNOWN_KEY',
      ),
      E(at(text, 'frobnicate:'), 'bastion.frobnicate', 'unknown key "frobnicate"', 'UNKNOWN_KEY'),
      E(
        at(text, 'zookeper:'),
        'zookeper',
        'unknown key "zookeper" (did you mean "zookeeper"?)',
        'UNKNOWN_KEY',
      ),
      E(at(text, 'scope'), 'web.tokens[0].scope', 'unknown key "scope"', 'UNKNOWN_KEY'),
    ]);
  });
});

describe('parseDaemonConfig: keys in the wrong place', () => {
  it('names the section a misplaced key belongs to', () => {
    const text = `${render({ executor: { sessionLimit: '4' } })}slots: 4\n`;
    expect(errors(text)).toEqual([
      E(
        at(text, 'sessionLimit:'),
        'executor.sessionLimit',
        'unknown key "sessionLimit" (did you mean "bastion.sessionLimit"?)',
        'UNKNOWN_KEY',
      ),
      E(
        at(text, 'slots:'),
        'slots',
        'unknown key "slots" (did you mean "executor.slots"?)',
        'UNKNOWN_KEY',
      ),
    ]);
  });
});

describe('parseDaemonConfig: the file as a whole', () => {
  it('malformed YAML is one error at its line', () => {
    const text = 'zookeeper:\n  hosts: [a:1\nbastion:\n  host: x\n';
    const errs = errors(text);
    expect(errs).toHaveLength(1);
    expect(errs[0]).toMatch(
      new RegExp(`^${FILE}:\\d+: error: malformed YAML: .+ \\(DRAWBRIDGE_ERR_CONFIG_YAML\\)$`),
    );
  });

  it('a key given twice is malformed YAML', () => {
    const errs = errors(`${render()}log:\n  level: info\n  level: debug\n`);
    expect(errs).toEqual([expect.stringContaining('duplicated mapping key')]);
  });

  it('a file that is not a mapping', () => {
    expect(errors('- zookeeper\n')).toEqual([
      `${FILE}:1: error: expected a mapping, got a list (DRAWBRIDGE_ERR_CONFIG_TYPE)`,
    ]);
  });

  it('an empty file names every required section once, on line 0', () => {
    expect(errors('# nothing yet\n')).toEqual([
      E(0, 'zookeeper', 'required section is missing (with hosts)', 'MISSING'),
      E(0, 'layout', 'required section is missing (with paths)', 'MISSING'),
      E(0, 'repository', 'required section is missing (with url)', 'MISSING'),
      E(
        0,
        'bastion',
        'required section is missing (with host, user, privateKey, hostKey)',
        'MISSING',
      ),
    ]);
  });

  it('an empty required section names each of its required keys at the section line', () => {
    const text = render({ bastion: undefined }) + 'bastion:\n';
    const line = at(text, 'bastion:');
    expect(errors(text)).toEqual([
      E(line, 'bastion.host', 'required: the bastion host name or address', 'MISSING'),
      E(line, 'bastion.user', 'required: the SSH user on the bastion', 'MISSING'),
      E(line, 'bastion.privateKey', 'required: the path of the SSH private key file', 'MISSING'),
      E(
        line,
        'bastion.hostKey',
        'required: the bastion host key: a "SHA256:..." fingerprint or a known_hosts line',
        'MISSING',
      ),
    ]);
  });

  it('a section that is not a mapping is one error, not one per missing key', () => {
    const text = render({ bastion: undefined }) + 'bastion: bastion.example.org\n';
    expect(errors(text)).toEqual([
      E(
        at(text, 'bastion:'),
        'bastion',
        'expected a mapping, got the string "bastion.example.org"',
        'TYPE',
      ),
    ]);
  });

  it('reports every problem of a badly broken file at once, in line order', () => {
    const text = [
      'zookeeper:',
      '  hosts: zk1', // 2
      '  root: drawbridge/', // 3
      'layout:',
      '  paths: []', // 5
      'repository:',
      '  url: "-oProxyCommand=evil"', // 7
      '  pollInterval: 1m', // 8
      'bastion:',
      '  host: bastion.example.org',
      '  port: 0', // 11
      '  user: deploy',
      '  privateKey: ~/.ssh/id_ed25519', // 13
      '  hostKey: SHA256:tooshort', // 14
      '  sessionLimit: 2', // 15
      'executor:',
      '  slots: 0', // 17
      'web:',
      '  listen: localhost', // 19
      '  readProtected: yes', // 20
      'log:',
      '  level: verbose', // 22
      '',
    ].join('\n');
    expect(errors(text)).toEqual([
      E(
        2,
        'zookeeper.hosts',
        'expected host:port such as "zk1.example.org:2181", got "zk1"',
        'DAEMON_FORMAT',
      ),
      E(
        3,
        'zookeeper.root',
        'expected an absolute znode path such as "/drawbridge" (no trailing slash; segments of letters, digits, ".", "_", "-"), got "drawbridge/"',
        'DAEMON_FORMAT',
      ),
      E(5, 'layout.paths', 'expected at least one path', 'DAEMON_FORMAT'),
      E(
        7,
        'repository.url',
        'expected a git URL (https://, ssh://, git://, file://, user@host:path, or an absolute path), got "-oProxyCommand=evil"',
        'DAEMON_FORMAT',
      ),
      E(8, 'repository.pollInterval', 'expected a number of seconds, got the string "1m"', 'TYPE'),
      E(11, 'bastion.port', 'expected an integer from 1 to 65535, got 0', 'DAEMON_RANGE'),
      E(
        13,
        'bastion.privateKey',
        'expected a path without "~" (it is not expanded): absolute, or relative to the config file, got "~/.ssh/id_ed25519"',
        'DAEMON_FORMAT',
      ),
      E(
        14,
        'bastion.hostKey',
        'expected a host key pin: a "SHA256:..." fingerprint (ssh-keygen -lf) or a known_hosts line, got "SHA256:tooshort"',
        'DAEMON_FORMAT',
      ),
      E(15, 'bastion.sessionLimit', 'expected an integer from 4 to 10000, got 2', 'DAEMON_RANGE'),
      E(17, 'executor.slots', 'expected an integer from 1 to 1000, got 0', 'DAEMON_RANGE'),
      E(
        19,
        'web.listen',
        'expected host:port such as "127.0.0.1:9000", got "localhost"',
        'DAEMON_FORMAT',
      ),
      E(20, 'web.readProtected', 'expected true or false, got the string "yes"', 'TYPE'),
      E(
        22,
        'log.level',
        'expected one of "fatal", "error", "warn", "info", "debug", "trace", "silent", got "verbose"',
        'TYPE',
      ),
    ]);
  });
});

describe('loadDaemonConfig', () => {
  it('reads the file and takes relative paths from its directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'drawbridge-config-'));
    try {
      const file = join(dir, 'drawbridge.yaml');
      writeFileSync(file, render({ state: { dir: 'state' } }));
      const r = await loadDaemonConfig(file, { env: {} });
      expect(r.errors).toEqual([]);
      expect(r.config?.file).toBe(file);
      expect(r.config?.state.dir).toBe(join(dir, 'state'));
      expect(r.config?.bastion.privateKey).toBe(join(dir, 'keys/id_ed25519'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a file that cannot be read is one error on line 0', async () => {
    const r = await loadDaemonConfig('/nonexistent/drawbridge.yaml');
    expect(r.config).toBeUndefined();
    expect(r.errors.map(formatDiagnostic)).toEqual([
      expect.stringMatching(
        /^\/nonexistent\/drawbridge.yaml:0: error: cannot read the daemon config: ENOENT: no such file or directory, open .* \(DRAWBRIDGE_ERR_CONFIG_READ\)$/,
      ),
    ]);
  });

  it('daemonConfigOrThrow hands back the config, or throws with every error', () => {
    const good = parse(render());
    expect(daemonConfigOrThrow(good, FILE)).toBe(good.config);
    const bad = parse(render({ bastion: { port: '0' }, executor: { slots: '0' } }));
    let thrown: unknown;
    try {
      daemonConfigOrThrow(bad, FILE);
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(DaemonConfigInvalidError);
    const err = thrown as DaemonConfigInvalidError;
    expect(err.code).toBe('DRAWBRIDGE_ERR_CONFIG_DAEMON_INVALID');
    expect(err.file).toBe(FILE);
    expect(err.errors).toHaveLength(2);
    expect(err.message).toContain('bastion.port: expected an integer from 1 to 65535, got 0');
  });
});

/** A syntactically valid ssh-ed25519 public key blob (type check only, the key is not used). */
function ed25519Blob(): string {
  const type = Buffer.from('ssh-ed25519');
  const key = Buffer.alloc(32, 7);
  const len = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  return Buffer.concat([len(type.length), type, len(key.length), key]).toString('base64');
}
