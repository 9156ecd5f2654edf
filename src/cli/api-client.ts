/**
 * The REST API as the CLI client sees it: a base URL, an optional bearer
 * token (from --token-file, else DRAWBRIDGE_TOKEN, else DRAWBRIDGE_TOKEN_FILE),
 * and answers that are either the JSON body or a CliApiError carrying the
 * server's `{ error: { code, message } }`. The token is never printed. Each
 * request gives up after a timeout (DRAWBRIDGE_API_TIMEOUT seconds, default 30).
 */
import { readFile } from 'node:fs/promises';
import { DrawbridgeError, toError } from '../errors.js';
import type { Env } from './daemon-config-load.js';
import { CliInputFileError, CliUsageError } from './errors.js';

export const DEFAULT_API_URL = 'http://127.0.0.1:9000';
/** Long enough for a plan of a large layout; short enough that a script does not hang on a dead host. */
export const DEFAULT_API_TIMEOUT_MS = 30_000;

/** The API answered with an error, or could not be reached. */
export class CliApiError extends DrawbridgeError {
  readonly code = 'DRAWBRIDGE_ERR_CLI_API';
  constructor(
    readonly url: string,
    readonly status: number | null,
    readonly serverCode: string | null,
    reason: string,
  ) {
    super(
      `${url}: ${status === null ? '' : `${status} `}${reason}${serverCode ? ` [${serverCode}]` : ''}`,
    );
  }
}

export interface ApiOptions {
  readonly url?: string;
  readonly tokenFile?: string;
  /** Per request; default DRAWBRIDGE_API_TIMEOUT (seconds), else DEFAULT_API_TIMEOUT_MS. */
  readonly timeoutMs?: number;
}

export class ApiClient {
  constructor(
    readonly base: string,
    private readonly token: string | undefined,
    readonly timeoutMs = DEFAULT_API_TIMEOUT_MS,
  ) {}

  /** `warn` gets a line for the user (stderr) when the token would travel unprotected. */
  static async from(
    options: ApiOptions,
    env: Env,
    warn: (line: string) => void = () => undefined,
  ): Promise<ApiClient> {
    const base = (options.url ?? env.DRAWBRIDGE_URL ?? DEFAULT_API_URL).replace(/\/+$/, '');
    if (!/^https?:\/\/[^/]+/.test(base))
      throw new CliUsageError(`--url: expected http(s)://host:port, got "${base}"`, '--url');
    const token = await tokenFrom(options, env);
    const { protocol, hostname } = new URL(base);
    if (token !== undefined && protocol === 'http:' && !isLoopback(hostname))
      warn(
        `drawbridge: warning: the API token goes to ${hostname} over plain http://, ` +
          'readable by anyone on the way; use https://\n',
      );
    return new ApiClient(base, token, options.timeoutMs ?? timeoutFrom(env));
  }

  get<T>(path: string, query: Record<string, string | readonly string[] | undefined> = {}) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query))
      for (const x of v === undefined ? [] : [v].flat()) params.append(k, x);
    const q = params.toString();
    return this.request<T>('GET', `${path}${q ? `?${q}` : ''}`);
  }

  post<T>(path: string, body?: unknown): Promise<T> {
    return this.request<T>('POST', path, body);
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.base}${path}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    let text: string;
    try {
      res = await fetch(url, {
        method,
        headers,
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      text = await res.text();
    } catch (e) {
      // A DOMException, which need not be an Error of this realm: go by its name.
      if ((e as { name?: unknown } | null)?.name === 'TimeoutError')
        throw new CliApiError(url, null, null, `no answer within ${this.timeoutMs / 1000} s`);
      const cause = (toError(e) as Error & { cause?: unknown }).cause;
      throw new CliApiError(url, null, null, `unreachable: ${toError(cause ?? e).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliApiError(url, res.status, null, 'the answer is not JSON');
    }
    if (res.ok) return parsed as T;
    const err = (parsed as { error?: { code?: unknown; message?: unknown } }).error;
    throw new CliApiError(
      url,
      res.status,
      typeof err?.code === 'string' ? err.code : null,
      typeof err?.message === 'string' ? err.message : res.statusText,
    );
  }
}

async function tokenFrom(options: ApiOptions, env: Env): Promise<string | undefined> {
  const file = options.tokenFile ?? (env.DRAWBRIDGE_TOKEN ? undefined : env.DRAWBRIDGE_TOKEN_FILE);
  if (file === undefined) return env.DRAWBRIDGE_TOKEN || undefined;
  try {
    const token = (await readFile(file, 'utf8')).trim();
    if (token === '') throw new Error('the file is empty');
    return token;
  } catch (e) {
    throw new CliInputFileError(file, `cannot read the API token: ${toError(e).message}`);
  }
}

/** DRAWBRIDGE_API_TIMEOUT: seconds, a positive number. */
function timeoutFrom(env: Env): number {
  const text = env.DRAWBRIDGE_API_TIMEOUT;
  if (text === undefined || text === '') return DEFAULT_API_TIMEOUT_MS;
  const seconds = Number(text);
  if (!/^\d+(\.\d+)?$/.test(text) || seconds <= 0)
    throw new CliUsageError(
      `DRAWBRIDGE_API_TIMEOUT: expected a number of seconds, got "${text}"`,
      'DRAWBRIDGE_API_TIMEOUT',
    );
  return seconds * 1000;
}

/** Names and addresses that never leave this host. */
function isLoopback(hostname: string): boolean {
  return (
    hostname === 'localhost' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname) ||
    hostname === '[::1]'
  );
}
