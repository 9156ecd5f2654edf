import { describe, expect, it } from '@jest/globals';
import { parseDaemonConfig } from './daemon-config.js';
import { formatDiagnostic } from './layout-diagnostics.js';

const FILE = '/etc/drawbridge/drawbridge.yaml';
const PIN = `SHA256:${'Ab3+/'.repeat(8)}xyz`;
const HASH = `sha256:${'0123456789abcdef'.repeat(4)}`;
const HASH2 = `sha256:${'fedcba9876543210'.repeat(4)}`;

type Over = Record<string, Record<string, string | undefined> | undefined>;

const BASE: Over = {
  zookeeper: { hosts: '[127.0.0.1:2181]' },
  layout: { paths: '[zuul.d]' },
  repository: { url: 'https://git.example.org/infra.git' },
  bastion: { host: 'bastion.example.org', user: 'deploy', privateKey: 'id', hostKey: PIN },
};

/** The minimal valid config with keys replaced, added, or (undefined) removed. */
function render(over: Over): string {
  const out: string[] = [];
  for (const name of new Set([...Object.keys(BASE), ...Object.keys(over)])) {
    out.push(`${name}:`);
    for (const [k, v] of Object.entries({ ...BASE[name], ...over[name] })) {
      if (v !== undefined) out.push(`  ${k}: ${v}`);
    }
  }
  return `${out.join('\n')}\n`;
}

function diagnostics(text: string, env: Record<string, string> = {}) {
  const r = parseDaemonConfig({ file: FILE, text }, { env });
  return {
    config: r.config,
    errors: r.errors.map(formatDiagnostic),
    warnings: r.warnings.map(formatDiagnostic),
  };
}

/** The 1-based line of the first line containing `needle`. */
function at(text: string, needle: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(needle));
  if (i < 0) throw new Error(`"${needle}" is not in the config`);
  return i + 1;
}

const line = (sev: 'error' | 'warning', l: number, key: string, msg: string, code: string) =>
  `${FILE}:${l}: ${sev}: ${key}: ${msg} (DRAWBRIDGE_${sev === 'error' ? 'ERR' : 'WARN'}_CONFIG_${code})`;

/**
 * [what, config overrides, text on the reported line, key, message, code]: each
 * config has exactly one error, reported on the line holding the needle.
 */
type Case = [string, Over, string, string, string, string];

const FORMAT = 'DAEMON_FORMAT';
const RANGE = 'DAEMON_RANGE';
const HP = (ex: string) => `expected host:port such as "${ex}"`;
const ZK = HP('zk1.example.org:2181');
const REPO_PATH = 'expected a path relative to the repository root of [A-Za-z0-9_./-] without ".."';
const ROOT =
  'expected an absolute znode path such as "/drawbridge" (no trailing slash; segments of letters, digits, ".", "_", "-")';
const PIN_MSG =
  'expected a host key pin: a "SHA256:..." fingerprint (ssh-keygen -lf) or a known_hosts line';
const REMOTE = 'expected an absolute path on the bastion of [A-Za-z0-9_./-] without ".."';

const CASES: Case[] = [
  // zookeeper
  [
    'host without a port',
    { zookeeper: { hosts: '[zk1]' } },
    'hosts:',
    'zookeeper.hosts[0]',
    `${ZK}, got "zk1"`,
    FORMAT,
  ],
  [
    'host with a chroot',
    { zookeeper: { hosts: 'zk1:2181/db' } },
    'hosts:',
    'zookeeper.hosts',
    'expected host:port without a chroot (set zookeeper.root instead), got "zk1:2181/db"',
    FORMAT,
  ],
  [
    'bare IPv6 host',
    { zookeeper: { hosts: '["fd00::1:2181"]' } },
    'hosts:',
    'zookeeper.hosts[0]',
    `${ZK}, with IPv6 in brackets: "[fd00::1]:2181", got "fd00::1:2181"`,
    FORMAT,
  ],
  [
    'port out of range',
    { zookeeper: { hosts: '"a:1,b:70000"' } },
    'hosts:',
    'zookeeper.hosts',
    `${ZK} with a port from 1 to 65535, got "b:70000"`,
    FORMAT,
  ],
  [
    'no hosts',
    { zookeeper: { hosts: '[]' } },
    'hosts:',
    'zookeeper.hosts',
    'expected at least one host:port',
    FORMAT,
  ],
  [
    'hosts of the wrong type',
    { zookeeper: { hosts: '5' } },
    'hosts:',
    'zookeeper.hosts',
    'expected a list of host:port, or a comma-separated string of them, got number 5',
    'TYPE',
  ],
  ['root "/"', { zookeeper: { root: '/' } }, 'root:', 'zookeeper.root', `${ROOT}, got "/"`, FORMAT],
  [
    'relative root',
    { zookeeper: { root: 'drawbridge' } },
    'root:',
    'zookeeper.root',
    `${ROOT}, got "drawbridge"`,
    FORMAT,
  ],
  [
    'root with an empty segment',
    { zookeeper: { root: '/a//b' } },
    'root:',
    'zookeeper.root',
    `${ROOT}, got "/a//b"`,
    FORMAT,
  ],
  [
    'session timeout 0',
    { zookeeper: { sessionTimeout: '0' } },
    'sessionTimeout:',
    'zookeeper.sessionTimeout',
    'expected a number of seconds above 0 to 86400, got 0',
    RANGE,
  ],
  [
    'connect timeout with a unit',
    { zookeeper: { connectTimeout: '10s' } },
    'connectTimeout:',
    'zookeeper.connectTimeout',
    'expected a number of seconds, got the string "10s"',
    'TYPE',
  ],
  [
    'auth without password',
    { zookeeper: { auth: '{user: db}' } },
    'auth:',
    'zookeeper.auth.password',
    'required: the digest password',
    'MISSING',
  ],
  [
    'auth not a mapping',
    { zookeeper: { auth: 'db:secret' } },
    'auth:',
    'zookeeper.auth',
    'expected a mapping, got the string "db:secret"',
    'TYPE',
  ],
  // layout
  [
    'no layout paths',
    { layout: { paths: undefined, playbookDir: 'pb' } },
    'layout:',
    'layout.paths',
    'required: a list of layout files or directories',
    'MISSING',
  ],
  [
    'absolute path in the repository',
    { layout: { fromRepository: 'true', paths: '[/srv/zuul.d]' } },
    'paths:',
    'layout.paths[0]',
    `${REPO_PATH}, got "/srv/zuul.d"`,
    FORMAT,
  ],
  [
    'path leaving the repository',
    { layout: { fromRepository: 'true', paths: '[../zuul.d]' } },
    'paths:',
    'layout.paths[0]',
    `${REPO_PATH}, got "../zuul.d"`,
    FORMAT,
  ],
  [
    'playbookDir leaving the repository',
    { layout: { playbookDir: 'a/../../b' } },
    'playbookDir:',
    'layout.playbookDir',
    `${REPO_PATH}, got "a/../../b"`,
    FORMAT,
  ],
  [
    'project with a space',
    { layout: { project: '"my infra"' } },
    'project:',
    'layout.project',
    'expected a project name such as "opendev/system-config", got "my infra"',
    FORMAT,
  ],
  [
    'fromRepository not a boolean',
    { layout: { fromRepository: 'yes' } },
    'fromRepository:',
    'layout.fromRepository',
    'expected true or false, got the string "yes"',
    'TYPE',
  ],
  [
    'layout path of the wrong type',
    { layout: { paths: '[1]' } },
    'paths:',
    'layout.paths[0]',
    'expected a path, got number 1',
    'TYPE',
  ],
  // repository
  [
    'no repository url',
    { repository: { url: undefined, branch: 'main' } },
    'repository:',
    'repository.url',
    'required: the git URL of the deployed repository',
    'MISSING',
  ],
  [
    'relative repository url',
    { repository: { url: 'infra.git' } },
    'url:',
    'repository.url',
    'expected a git URL (https://, ssh://, git://, file://, user@host:path, or an absolute path), got "infra.git"',
    FORMAT,
  ],
  [
    'branch with ..',
    { repository: { branch: 'a..b' } },
    'branch:',
    'repository.branch',
    'expected a git branch name such as "master", got "a..b"',
    FORMAT,
  ],
  [
    'negative poll interval',
    { repository: { pollInterval: '-1' } },
    'pollInterval:',
    'repository.pollInterval',
    'expected a number of seconds from 0 to 86400, got -1',
    RANGE,
  ],
  // bastion
  [
    'bad bastion host',
    { bastion: { host: 'bad_host!' } },
    'host:',
    'bastion.host',
    'expected a host name or IP address, got "bad_host!"',
    FORMAT,
  ],
  [
    'bastion port 0',
    { bastion: { port: '0' } },
    'port:',
    'bastion.port',
    'expected an integer from 1 to 65535, got 0',
    RANGE,
  ],
  [
    'bastion port as a string',
    { bastion: { port: '"22"' } },
    'port:',
    'bastion.port',
    'expected an integer, got the string "22"',
    'TYPE',
  ],
  [
    'user with @',
    { bastion: { user: 'deploy@bastion' } },
    'user:',
    'bastion.user',
    'expected a user name of letters, digits, ".", "_", "-", got "deploy@bastion"',
    FORMAT,
  ],
  [
    'key line whose key is of another type',
    { bastion: { hostKey: `"h ssh-rsa ${ed25519Blob()}"` } },
    'hostKey:',
    'bastion.hostKey',
    `${PIN_MSG}, got "h ssh-rsa ${ed25519Blob().slice(0, 47)}..."`,
    FORMAT,
  ],
  [
    'a CA line is not a pin',
    { bastion: { hostKey: `"@cert-authority * ssh-ed25519 ${ed25519Blob()}"` } },
    'hostKey:',
    'bastion.hostKey',
    `${PIN_MSG}, got "@cert-authority * ssh-ed25519 ${ed25519Blob().slice(0, 27)}..."`,
    FORMAT,
  ],
  [
    'one bad pin in a list',
    { bastion: { hostKey: `[${PIN}, "SHA256:x"]` } },
    'hostKey:',
    'bastion.hostKey[1]',
    `${PIN_MSG}, got "SHA256:x"`,
    FORMAT,
  ],
  [
    'empty pin list',
    { bastion: { hostKey: '[]' } },
    'bastion:',
    'bastion.hostKey',
    'required: at least one host key pin',
    'MISSING',
  ],
  [
    'relative workspace root',
    { bastion: { workspaceRoot: 'ws' } },
    'workspaceRoot:',
    'bastion.workspaceRoot',
    `${REMOTE}, got "ws"`,
    FORMAT,
  ],
  [
    'workspace root with ..',
    { bastion: { workspaceRoot: '/srv/../etc' } },
    'workspaceRoot:',
    'bastion.workspaceRoot',
    `${REMOTE}, got "/srv/../etc"`,
    FORMAT,
  ],
  [
    'workspace root with a space',
    { bastion: { workspaceRoot: '"/srv/my ws"' } },
    'workspaceRoot:',
    'bastion.workspaceRoot',
    `${REMOTE}, got "/srv/my ws"`,
    FORMAT,
  ],
  [
    'session limit below 4: the job runner holds a job-lane channel for good',
    { bastion: { sessionLimit: '3' } },
    'sessionLimit:',
    'bastion.sessionLimit',
    'expected an integer from 4 to 10000, got 3',
    RANGE,
  ],
  [
    'negative keepWorkspaces',
    { bastion: { keepWorkspaces: '-1' } },
    'keepWorkspaces:',
    'bastion.keepWorkspaces',
    'expected an integer from 0 to 100000, got -1',
    RANGE,
  ],
  [
    'unknown commit source',
    { bastion: { commitSource: 'pull' } },
    'commitSource:',
    'bastion.commitSource',
    'expected one of "fetch", "push", got "pull"',
    'TYPE',
  ],
  [
    'negative keepalive',
    { bastion: { keepalive: '-5' } },
    'keepalive:',
    'bastion.keepalive',
    'expected a number of seconds from 0 to 3600, got -5',
    RANGE,
  ],
  [
    'private key under ~',
    { bastion: { privateKey: '~/id' } },
    'privateKey:',
    'bastion.privateKey',
    'expected a path without "~" (it is not expanded): absolute, or relative to the config file, got "~/id"',
    FORMAT,
  ],
  // executor
  [
    'fractional slots',
    { executor: { slots: '1.5' } },
    'slots:',
    'executor.slots',
    'expected an integer from 1 to 1000, got 1.5',
    RANGE,
  ],
  [
    'log stream without a port',
    { executor: { logStream: 'localhost' } },
    'logStream:',
    'executor.logStream',
    `${HP('127.0.0.1:7901')}, got "localhost"`,
    FORMAT,
  ],
  [
    'job nice above 19',
    { executor: { jobNice: '20' } },
    'jobNice:',
    'executor.jobNice',
    'expected an integer from 0 to 19, got 20',
    RANGE,
  ],
  [
    'job CPU policy not known',
    { executor: { jobCpuPolicy: 'idle' } },
    'jobCpuPolicy:',
    'executor.jobCpuPolicy',
    'expected one of "batch", "normal", got "idle"',
    'TYPE',
  ],
  [
    'kill grace in words',
    { executor: { killGrace: 'soon' } },
    'killGrace:',
    'executor.killGrace',
    'expected a number of seconds, got the string "soon"',
    'TYPE',
  ],
  [
    'log root of the wrong type',
    { executor: { logRoot: '[a, b]' } },
    'logRoot:',
    'executor.logRoot',
    'expected a file system path, got a list',
    'TYPE',
  ],
  // scheduler
  [
    'status interval 0',
    { scheduler: { statusInterval: '0' } },
    'statusInterval:',
    'scheduler.statusInterval',
    'expected a number of seconds above 0 to 3600, got 0',
    RANGE,
  ],
  [
    'timers not a boolean',
    { scheduler: { timers: 'on' } },
    'timers:',
    'scheduler.timers',
    'expected true or false, got the string "on"',
    'TYPE',
  ],
  // web
  [
    'listen on port 0',
    { web: { listen: '127.0.0.1:0' } },
    'listen:',
    'web.listen',
    `${HP('127.0.0.1:9000')} with a port from 1 to 65535, got "127.0.0.1:0"`,
    FORMAT,
  ],
  [
    'public URL of another scheme',
    { web: { publicUrl: 'ftp://x.example.org' } },
    'publicUrl:',
    'web.publicUrl',
    'expected an http:// or https:// URL such as "https://drawbridge.example.org", got "ftp://x.example.org"',
    FORMAT,
  ],
  [
    'public URL with a query',
    { web: { publicUrl: 'https://x.example.org/?a=1' } },
    'publicUrl:',
    'web.publicUrl',
    'expected an http:// or https:// URL such as "https://drawbridge.example.org", without ?query or #fragment, got "https://x.example.org/?a=1"',
    FORMAT,
  ],
  [
    'tokens not a list',
    { web: { tokens: `{name: a, hash: "${HASH}", role: read}` } },
    'tokens:',
    'web.tokens',
    'expected a list of {name, hash, role}, got a mapping',
    'TYPE',
  ],
  [
    'token not a mapping',
    { web: { tokens: '[ci]' } },
    'tokens:',
    'web.tokens[0]',
    'expected a mapping, got the string "ci"',
    'TYPE',
  ],
  [
    'token without role',
    { web: { tokens: `[{name: a, hash: "${HASH}"}]` } },
    'tokens:',
    'web.tokens[0].role',
    'required: read, operator or admin',
    'MISSING',
  ],
  [
    'token with an unknown role',
    { web: { tokens: `[{name: a, hash: "${HASH}", role: root}]` } },
    'tokens:',
    'web.tokens[0].role',
    'expected one of "read", "operator", "admin", got "root"',
    'TYPE',
  ],
  [
    'token given in clear',
    { web: { tokens: '[{name: a, hash: hunter2, role: read}]' } },
    'tokens:',
    'web.tokens[0].hash',
    'expected "sha256:" and the 64 hex digits of the token\'s SHA-256 (not the token itself), got "hunter2"',
    FORMAT,
  ],
  [
    'token name with a space',
    { web: { tokens: `[{name: "a b", hash: "${HASH}", role: read}]` } },
    'tokens:',
    'web.tokens[0].name',
    'expected a name of letters, digits, ".", "_", "-" (up to 100), starting with a letter or digit, got "a b"',
    FORMAT,
  ],
  [
    'two tokens with one name',
    {
      web: {
        tokens: `\n    - {name: a, hash: "${HASH}", role: read}\n    - {name: a, hash: "${HASH2}", role: admin}`,
      },
    },
    `${HASH2}`,
    'web.tokens[1]',
    'the same name "a" as web.tokens[0]',
    'DUPLICATE',
  ],
  [
    'two tokens with one hash',
    {
      web: {
        tokens: `\n    - {name: a, hash: "${HASH}", role: read}\n    - {name: b, hash: "${HASH.toUpperCase().replace('SHA', 'sha')}", role: admin}`,
      },
    },
    'name: b',
    'web.tokens[1]',
    'the same hash as web.tokens[0]',
    'DUPLICATE',
  ],
  [
    'jwt without a key',
    { web: { jwt: '{issuer: https://sso.example.org}' } },
    'jwt:',
    'web.jwt',
    'required: hs256Secret or rs256PublicKey, to verify token signatures',
    'MISSING',
  ],
  [
    'jwt not a mapping',
    { web: { jwt: 'true' } },
    'jwt:',
    'web.jwt',
    'expected a mapping, got boolean true',
    'TYPE',
  ],
  [
    'read protection nobody can pass',
    { web: { readProtected: 'true' } },
    'readProtected:',
    'web.readProtected',
    'readProtected is true but no tokens or jwt are configured: nobody could read',
    'DAEMON_CONFLICT',
  ],
  [
    'web listen and log stream on one port',
    { web: { listen: '0.0.0.0:7901' } },
    'listen:',
    'web.listen',
    'web.listen (0.0.0.0:7901) and executor.logStream (127.0.0.1:7901) use the same port; an all-in-one process could not bind both',
    'DAEMON_CONFLICT',
  ],
  // state, log
  [
    'empty state dir',
    { state: { dir: '""' } },
    'dir:',
    'state.dir',
    'expected a file system path, got ""',
    FORMAT,
  ],
  [
    'unknown log format',
    { log: { format: 'text' } },
    'format:',
    'log.format',
    'expected one of "json", "pretty", got "text"',
    'TYPE',
  ],
];

describe('parseDaemonConfig: every validation rule', () => {
  it.each(CASES)('%s', (_what, over, needle, key, message, code) => {
    const text = render(over);
    const r = diagnostics(text);
    expect(r.config).toBeUndefined();
    expect(r.errors).toEqual([line('error', at(text, needle), key, message, code)]);
  });

  it('the cases above each change the minimal config, which itself loads', () => {
    expect(diagnostics(render({})).errors).toEqual([]);
  });
});

describe('parseDaemonConfig: secrets', () => {
  it('never echoes a secret in an error', () => {
    const secret = 'tooshort-but-secret';
    const text = render({
      zookeeper: { auth: '{user: db, password: 123456789}' },
      web: { jwt: `{hs256Secret: "${secret}"}` },
    });
    const r = diagnostics(text);
    expect(r.errors).toEqual([
      line(
        'error',
        at(text, 'auth:'),
        'zookeeper.auth.password',
        'expected the digest password, got a number',
        'TYPE',
      ),
      line(
        'error',
        at(text, 'jwt:'),
        'web.jwt.hs256Secret',
        'expected a secret of at least 32 characters',
        FORMAT,
      ),
    ]);
    expect(JSON.stringify(r)).not.toContain(secret);
    expect(JSON.stringify(r)).not.toContain('123456789');
  });

  it('warns about a secret written in the file, not about one from the environment', () => {
    const literal = render({
      zookeeper: { auth: '{user: db, password: hunter2}' },
      web: { jwt: `{hs256Secret: "${'k'.repeat(32)}"}` },
    });
    const warn = 'a secret is written in the file; take it from the environment with ${NAME}';
    expect(diagnostics(literal).warnings).toEqual([
      line(
        'warning',
        at(literal, 'auth:'),
        'zookeeper.auth.password',
        warn,
        'DAEMON_LITERAL_SECRET',
      ),
      line('warning', at(literal, 'jwt:'), 'web.jwt.hs256Secret', warn, 'DAEMON_LITERAL_SECRET'),
    ]);
    const fromEnv = render({
      zookeeper: { auth: '{user: db, password: "${ZK_PASSWORD}"}' },
      web: { jwt: '{hs256Secret: "${JWT_SECRET}"}' },
    });
    const r = diagnostics(fromEnv, { ZK_PASSWORD: 'hunter2', JWT_SECRET: 'k'.repeat(32) });
    expect(r.errors).toEqual([]);
    expect(r.warnings).toEqual([]);
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
