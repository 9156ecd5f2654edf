/**
 * Reader for the `web` section: where the REST API listens, and who may use
 * it. Only hashes of API tokens are configured, so the file never holds a
 * credential that works on its own.
 */
import { DAEMON_E } from './daemon-errors.js';
import { Fields } from './daemon-fields.js';
import { checkHostPort, checkName, checkPublicUrl, checkTokenHash } from './daemon-formats.js';
import { DAEMON_KEYS } from './daemon-keys.js';
import { optionalLocalPath } from './daemon-sections.js';
import type { JwtConfig, TokenRole, WebConfig, WebhookSecrets, WebToken } from './daemon-types.js';
import { E } from './layout-codes.js';

/** HS256 keys shorter than the hash output make the signature easier to brute-force. */
const MIN_HS256_SECRET = 32;

export function readWeb(f: Fields, dir: string): WebConfig {
  const readProtected = f.bool('readProtected', false);
  const tokens = readTokens(f);
  const jwt = readJwt(f, dir);
  if (
    readProtected &&
    tokens.length === 0 &&
    jwt === undefined &&
    f.r.clean(f.key('tokens'), f.key('jwt'))
  ) {
    f.r.error(
      DAEMON_E.conflict,
      f.lineOf('readProtected'),
      f.key('readProtected'),
      'readProtected is true but no tokens or jwt are configured: nobody could read',
    );
  }
  return {
    listen: f.checked('listen', 'host:port', (s) => checkHostPort(s, '127.0.0.1:9000')) ?? {
      host: '127.0.0.1',
      port: 9000,
    },
    publicUrl: f.checked('publicUrl', 'a URL', checkPublicUrl),
    readProtected,
    tokens,
    jwt,
    webhooks: readWebhooks(f),
  };
}

/** Shorter secrets make a forged signature or a guessed GitLab token cheaper. */
export const MIN_WEBHOOK_SECRET = 16;
const PROVIDERS = ['github', 'gitea', 'gitlab', 'generic'] as const;

function readWebhooks(f: Fields): WebhookSecrets {
  const w = f.sub('webhooks', DAEMON_KEYS['web.webhooks']);
  if (w === undefined) return {};
  const secrets: { -readonly [K in keyof WebhookSecrets]: string } = {};
  for (const provider of PROVIDERS) {
    const secret = w.text(provider, 'the webhook secret', true);
    if (secret === undefined) continue;
    if (secret.value.length < MIN_WEBHOOK_SECRET) {
      f.r.error(
        DAEMON_E.format,
        secret.line,
        secret.key,
        `expected a secret of at least ${MIN_WEBHOOK_SECRET} characters`,
      );
      continue;
    }
    secrets[provider] = secret.value;
  }
  return secrets;
}

const ROLES: readonly TokenRole[] = ['read', 'operator', 'admin'];

function readTokens(f: Fields): WebToken[] {
  const tokens: WebToken[] = [];
  const names = new Map<string, string>();
  const hashes = new Map<string, string>();
  for (const item of f.list('tokens', 'a list of {name, hash, role}') ?? []) {
    const entries = f.r.entries(item.node, item.key);
    if (entries === undefined) continue;
    const t = new Fields(f.r, item.key, item.node.line, entries, DAEMON_KEYS['web.tokens[]']);
    const name = t.requiredChecked('name', 'a token name', checkName);
    const hash = t.requiredChecked('hash', 'the token\'s "sha256:..." hash', checkTokenHash);
    const role = t.has('role')
      ? t.oneOf('role', ROLES, 'read')
      : t.missing('role', 'read, operator or admin');
    if (name === undefined || hash === undefined || role === undefined) continue;
    const clash = names.get(name) ?? hashes.get(hash);
    if (clash !== undefined) {
      const what = names.has(name) ? `name "${name}"` : 'hash';
      f.r.error(E.duplicate, item.node.line, item.key, `the same ${what} as ${clash}`);
      continue;
    }
    names.set(name, item.key);
    hashes.set(hash, item.key);
    tokens.push({ name, hash, role });
  }
  return tokens;
}

function readJwt(f: Fields, dir: string): JwtConfig | undefined {
  const j = f.sub('jwt', DAEMON_KEYS['web.jwt']);
  if (j === undefined) return undefined;
  const secret = j.text('hs256Secret', 'a shared secret', true);
  if (secret !== undefined && secret.value.length < MIN_HS256_SECRET) {
    f.r.error(
      DAEMON_E.format,
      secret.line,
      secret.key,
      `expected a secret of at least ${MIN_HS256_SECRET} characters`,
    );
  }
  const publicKey = optionalLocalPath(j, 'rs256PublicKey', dir);
  const keys = [j.key('hs256Secret'), j.key('rs256PublicKey')];
  if (secret === undefined && publicKey === undefined && f.r.clean(...keys)) {
    f.r.error(
      E.missing,
      j.line,
      f.key('jwt'),
      'required: hs256Secret or rs256PublicKey, to verify token signatures',
    );
  }
  const audience = j.text('audience', 'the expected "aud" claim')?.value;
  // An IdP's key signs tokens for all its clients: only "aud" says a token is meant for us.
  if (publicKey !== undefined && audience === undefined && f.r.clean(j.key('audience'))) {
    f.r.error(
      E.missing,
      j.lineOf('rs256PublicKey'),
      j.key('audience'),
      'required with rs256PublicKey: the "aud" claim tokens for Drawbridge carry',
    );
  }
  return {
    issuer: j.text('issuer', 'the expected "iss" claim')?.value,
    audience,
    hs256Secret: secret?.value,
    rs256PublicKey: publicKey,
  };
}
