/**
 * Webhook deliveries from git servers, checked and turned into ref-updated
 * trigger events. Pure apart from hashing: each provider's check takes the
 * raw body and headers, each parser the decoded JSON. GitHub and Gitea sign
 * the body with HMAC-SHA256; GitLab sends its secret token as a header;
 * `generic` is Drawbridge's own format, signed like GitHub's.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { RefUpdatedEvent } from '../model/index.js';
import { REF_PATTERN } from './schemas.js';

export const WEBHOOK_PROVIDERS = ['github', 'gitea', 'gitlab', 'generic'] as const;
export type WebhookProvider = (typeof WEBHOOK_PROVIDERS)[number];
export type WebhookSecrets = Readonly<Partial<Record<WebhookProvider, string>>>;

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const ZERO = /^0{40}$/;
const SHA = /^[0-9a-f]{40}$/;
const REF = new RegExp(REF_PATTERN);

function header(h: Headers, name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Equal-time comparison of two strings of any length (digests first, so lengths leak nothing). */
export function safeEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a).digest();
  const db = createHash('sha256').update(b).digest();
  return timingSafeEqual(da, db);
}

function hmacHex(secret: string, body: Buffer): string {
  return createHmac('sha256', secret).update(body).digest('hex');
}

/** Null when the delivery is authentic, else why not (for the 401's message; never the secret). */
export function verifyDelivery(
  provider: WebhookProvider,
  secret: string,
  body: Buffer,
  h: Headers,
): string | null {
  const expected = hmacHex(secret, body);
  switch (provider) {
    case 'github':
    case 'generic': {
      const name = provider === 'github' ? 'x-hub-signature-256' : 'x-drawbridge-signature';
      const got = header(h, name);
      if (got === undefined) return `no ${name} header`;
      return safeEqual(got.toLowerCase(), `sha256=${expected}`) ? null : 'signature mismatch';
    }
    case 'gitea': {
      const got = header(h, 'x-gitea-signature');
      if (got === undefined) return 'no x-gitea-signature header';
      return safeEqual(got.toLowerCase(), expected) ? null : 'signature mismatch';
    }
    case 'gitlab': {
      const got = header(h, 'x-gitlab-token');
      if (got === undefined) return 'no x-gitlab-token header';
      return safeEqual(got, secret) ? null : 'token mismatch';
    }
  }
}

export type Parsed =
  | { readonly kind: 'event'; readonly event: RefUpdatedEvent }
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'invalid'; readonly reason: string };

/**
 * The event a delivery stands for; `now` stamps it. Its id is a hash of the body,
 * not the delivery id header, which the signature does not cover: a captured
 * delivery sent again under a fresh header is still the same event.
 */
export function parseDelivery(
  provider: WebhookProvider,
  payload: unknown,
  h: Headers,
  body: Buffer,
  now: number,
): Parsed {
  const kind = eventKind(provider, h);
  if (kind !== 'push') return { kind: 'ignored', reason: `event "${kind}" is not a push` };
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload))
    return { kind: 'invalid', reason: 'the body is not a JSON object' };
  const p = payload as Record<string, unknown>;
  const ref = p['ref'];
  if (typeof ref !== 'string' || !REF.test(ref))
    return { kind: 'invalid', reason: `"ref" must be a full ref name matching ${REF_PATTERN}` };
  const next = provider === 'generic' ? p['newCommit'] : p['after'];
  const prev = provider === 'generic' ? (p['oldCommit'] ?? null) : p['before'];
  if (typeof next !== 'string' || !SHA.test(next))
    return { kind: 'invalid', reason: 'the new commit must be a full 40-character sha' };
  if (ZERO.test(next)) return { kind: 'ignored', reason: `${ref} was deleted` };
  if (prev !== null && (typeof prev !== 'string' || !SHA.test(prev)))
    return { kind: 'invalid', reason: 'the old commit must be a full 40-character sha or null' };
  const files = changedFiles(provider, p);
  if (files === 'invalid') return { kind: 'invalid', reason: 'malformed changed files' };
  return {
    kind: 'event',
    event: {
      type: 'ref-updated',
      id: `webhook-${provider}-${createHash('sha256').update(body).digest('hex')}`,
      ref,
      oldCommit: prev === null || ZERO.test(prev) ? null : prev,
      newCommit: next,
      changedFiles: files,
      source: 'webhook',
      detail: `push by ${pusher(p)} (${provider} webhook)`,
      receivedAt: now,
    },
  };
}

function eventKind(provider: WebhookProvider, h: Headers): string {
  switch (provider) {
    case 'github':
      return header(h, 'x-github-event') ?? 'unknown';
    case 'gitea':
      return header(h, 'x-gitea-event') ?? 'unknown';
    case 'gitlab': {
      const e = header(h, 'x-gitlab-event') ?? 'unknown';
      return e === 'Push Hook' || e === 'Tag Push Hook' ? 'push' : e;
    }
    case 'generic':
      return 'push';
  }
}

/** The git server's delivery id header, for tracing in its log; unsigned, so it identifies nothing here. */
export function deliveryId(provider: WebhookProvider, h: Headers): string | undefined {
  const name = {
    github: 'x-github-delivery',
    gitea: 'x-gitea-delivery',
    gitlab: 'x-gitlab-event-uuid',
    generic: 'x-drawbridge-delivery',
  }[provider];
  const v = header(h, name);
  // It is logged: keep it plain.
  return v !== undefined && /^[A-Za-z0-9._-]{1,100}$/.test(v) ? v : undefined;
}

/** Union of the commits' files; null (every job) when the payload does not list them. */
function changedFiles(
  provider: WebhookProvider,
  p: Record<string, unknown>,
): string[] | null | 'invalid' {
  if (provider === 'generic') {
    const f = p['changedFiles'];
    if (f === undefined || f === null) return null;
    return Array.isArray(f) && f.every((x) => typeof x === 'string') ? f : 'invalid';
  }
  const commits = p['commits'];
  if (!Array.isArray(commits) || commits.length === 0) return null;
  const files = new Set<string>();
  for (const c of commits as unknown[]) {
    if (typeof c !== 'object' || c === null) return 'invalid';
    for (const key of ['added', 'modified', 'removed']) {
      const list = (c as Record<string, unknown>)[key];
      if (list === undefined) return null; // this provider did not say: unknown
      if (!Array.isArray(list) || !list.every((x) => typeof x === 'string')) return 'invalid';
      for (const f of list) files.add(f);
    }
  }
  return [...files].sort();
}

function pusher(p: Record<string, unknown>): string {
  const pick = (o: unknown, k: string): string | undefined => {
    const v = typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[k] : undefined;
    return typeof v === 'string' && v !== '' ? v : undefined;
  };
  return (
    pick(p['pusher'], 'name') ??
    pick(p['sender'], 'login') ??
    pick(p, 'user_username') ??
    pick(p, 'pusher') ??
    'unknown'
  ).slice(0, 100);
}
