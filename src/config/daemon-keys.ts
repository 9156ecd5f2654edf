/**
 * Every key the daemon config knows, per mapping. Anything else is an error
 * with a suggestion; a test checks that docs/daemon-config.md names them all.
 */
export const DAEMON_KEYS = {
  '': [
    'zookeeper',
    'layout',
    'repository',
    'bastion',
    'executor',
    'scheduler',
    'web',
    'history',
    'state',
    'log',
  ],
  zookeeper: ['hosts', 'root', 'sessionTimeout', 'connectTimeout', 'auth'],
  'zookeeper.auth': ['user', 'password'],
  layout: ['paths', 'fromRepository', 'playbookDir', 'project'],
  repository: ['url', 'branch', 'pollInterval', 'localPath'],
  bastion: [
    'host',
    'port',
    'user',
    'privateKey',
    'hostKey',
    'workspaceRoot',
    'sessionLimit',
    'keepWorkspaces',
    'commitSource',
    'keepalive',
  ],
  executor: ['slots', 'logRoot', 'logStream', 'killGrace', 'jobNice', 'jobCpuPolicy'],
  scheduler: ['timers', 'statusInterval'],
  web: ['listen', 'publicUrl', 'readProtected', 'tokens', 'jwt', 'webhooks'],
  'web.tokens[]': ['name', 'hash', 'role'],
  'web.jwt': ['issuer', 'audience', 'hs256Secret', 'rs256PublicKey'],
  'web.webhooks': ['github', 'gitea', 'gitlab', 'generic'],
  history: ['path', 'url', 'password', 'passwordFile'],
  state: ['dir'],
  log: ['level', 'format'],
} as const satisfies Record<string, readonly string[]>;

/** Sections without which no process can start; the others have defaults throughout. */
export const REQUIRED_SECTIONS: Readonly<Record<string, string>> = {
  zookeeper: 'hosts',
  layout: 'paths',
  repository: 'url',
  bastion: 'host, user, privateKey, hostKey',
};
