/**
 * Who is calling: a bearer token compared by its SHA-256 against the
 * configured hashes, or a JWT verified with jose (HS256 and/or RS256).
 * Tokens are random, high-entropy strings, so a fast hash loses nothing
 * against guessing, while a slow password hash (bcrypt, argon2) would cost
 * CPU on every request; docs/rest-api.md says how to make a token.
 */
import { createHash, createPublicKey, type KeyObject, timingSafeEqual } from 'node:crypto';
import { jwtVerify, type JWTHeaderParameters } from 'jose';
import type { JwtConfig, TokenRole, WebToken } from '../config/daemon-types.js';
import { toError } from '../errors.js';
import { WebForbiddenError, WebUnauthorizedError, WebUnsupportedError } from './errors.js';

/** What a route needs: `public` never asks; `read` asks only when reads are protected. */
export type Access = 'public' | TokenRole;

export interface Principal {
  readonly name: string;
  /** Null for a JWT without a role this server knows. */
  readonly role: TokenRole | null;
  readonly via: 'token' | 'jwt';
}

export interface AuthConfig {
  readonly readProtected: boolean;
  readonly tokens: readonly WebToken[];
  readonly jwt: JwtConfig | undefined;
  /** PEM text of `jwt.rs256PublicKey`, read by the caller (src/cli) at start. */
  readonly rs256PublicKeyPem?: string;
}

const RANK: Readonly<Record<TokenRole, number>> = { read: 1, operator: 2, admin: 3 };
/** A JWT is refused once its `iat` is older than this, whatever its `exp` says. */
export const JWT_MAX_AGE = '24h';
/** Seconds of clock skew allowed between this host and the token issuer (exp, nbf, iat). */
export const JWT_CLOCK_TOLERANCE_S = 30;
const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

export function allows(held: TokenRole | null, needed: TokenRole): boolean {
  return held !== null && RANK[held] >= RANK[needed];
}

export class Authenticator {
  readonly readProtected: boolean;
  readonly #hashes: readonly { name: string; role: TokenRole; digest: Buffer }[];
  readonly #jwt: JwtConfig | undefined;
  readonly #hsKey: Uint8Array | undefined;
  readonly #rsKey: KeyObject | undefined;

  constructor(config: AuthConfig) {
    this.readProtected = config.readProtected;
    this.#hashes = config.tokens.map((t) => ({
      name: t.name,
      role: t.role,
      digest: Buffer.from(t.hash.slice('sha256:'.length), 'hex'),
    }));
    this.#jwt = config.jwt;
    this.#hsKey =
      config.jwt?.hs256Secret === undefined
        ? undefined
        : new TextEncoder().encode(config.jwt.hs256Secret);
    if (config.jwt?.rs256PublicKey !== undefined) {
      if (config.rs256PublicKeyPem === undefined)
        throw new WebUnsupportedError('web.jwt.rs256PublicKey', 'the key file was not read');
      try {
        this.#rsKey = createPublicKey(config.rs256PublicKeyPem);
      } catch (e) {
        throw new WebUnsupportedError('web.jwt.rs256PublicKey', toError(e).message);
      }
      if (this.#rsKey.asymmetricKeyType !== 'rsa')
        throw new WebUnsupportedError('web.jwt.rs256PublicKey', 'not an RSA public key');
      // An IdP's public key verifies tokens it issued for every client: only `aud` says "for us".
      if (config.jwt.audience === undefined)
        throw new WebUnsupportedError('web.jwt.audience', 'required with web.jwt.rs256PublicKey');
    }
  }

  get methods(): { tokens: boolean; jwt: boolean } {
    return { tokens: this.#hashes.length > 0, jwt: this.#jwt !== undefined };
  }

  /** Throws 401 or 403 unless `authorization` may use a route that needs `access`. */
  async check(access: Access, authorization: string | undefined): Promise<Principal | undefined> {
    if (access === 'public' || (access === 'read' && !this.readProtected)) return undefined;
    const principal = await this.authenticate(authorization);
    if (!allows(principal.role, access))
      throw new WebForbiddenError(access, principal.role ?? 'no role');
    return principal;
  }

  async authenticate(authorization: string | undefined): Promise<Principal> {
    if (authorization === undefined || authorization === '')
      throw new WebUnauthorizedError('send "Authorization: Bearer <token>"');
    const m = /^Bearer ([\x21-\x7e]+)$/i.exec(authorization.trim());
    if (m === null) throw new WebUnauthorizedError('expected "Authorization: Bearer <token>"');
    const credential = m[1] as string;
    const token = this.#matchToken(credential);
    if (token !== undefined) return token;
    if (this.#jwt !== undefined && JWT_SHAPE.test(credential)) return this.#verifyJwt(credential);
    throw new WebUnauthorizedError('the token is not valid');
  }

  #matchToken(credential: string): Principal | undefined {
    const digest = createHash('sha256').update(credential, 'utf8').digest();
    let found: Principal | undefined;
    // Compare against every hash, so the time taken does not say which one matched.
    for (const t of this.#hashes)
      if (timingSafeEqual(digest, t.digest) && found === undefined)
        found = { name: t.name, role: t.role, via: 'token' };
    return found;
  }

  async #verifyJwt(credential: string): Promise<Principal> {
    const jwt = this.#jwt as JwtConfig;
    const algorithms = [...(this.#hsKey ? ['HS256'] : []), ...(this.#rsKey ? ['RS256'] : [])];
    const key = (h: JWTHeaderParameters): Uint8Array | KeyObject => {
      const k = h.alg === 'HS256' ? this.#hsKey : h.alg === 'RS256' ? this.#rsKey : undefined;
      if (k === undefined) throw new WebUnauthorizedError(`JWT algorithm not accepted`);
      return k;
    };
    try {
      const { payload } = await jwtVerify(credential, key, {
        algorithms,
        requiredClaims: ['exp'],
        maxTokenAge: JWT_MAX_AGE,
        clockTolerance: JWT_CLOCK_TOLERANCE_S,
        ...(jwt.issuer === undefined ? {} : { issuer: jwt.issuer }),
        ...(jwt.audience === undefined ? {} : { audience: jwt.audience }),
      });
      const name = typeof payload.sub === 'string' ? payload.sub : 'jwt';
      return { name, role: roleOf(payload.role ?? payload.roles), via: 'jwt' };
    } catch (e) {
      if (e instanceof WebUnauthorizedError) throw e;
      // jose's message names the failed check (expired, signature, claim); never the token.
      throw new WebUnauthorizedError(`JWT rejected: ${toError(e).message}`);
    }
  }
}

/** The highest known role in a `role` claim (a string) or `roles` claim (a list). */
function roleOf(claim: unknown): TokenRole | null {
  const values = Array.isArray(claim) ? claim : [claim];
  let best: TokenRole | null = null;
  for (const v of values)
    if (typeof v === 'string' && v in RANK && (best === null || RANK[v as TokenRole] > RANK[best]))
      best = v as TokenRole;
  return best;
}
