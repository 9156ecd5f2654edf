/**
 * The REST API as the CLI client sees it: a base URL, an optional bearer
 * token (from --token-file, else DRAWBRIDGE_TOKEN, else DRAWBRIDGE_TOKEN_FILE),
 * and answers that are either the JSON body (or text, or an event stream) or
 * a CliApiError carrying the server's `{ error: { code, message } }`. The token
 * is never printed. Each request gives up after a timeout
 * (DRAWBRIDGE_API_TIMEOUT seconds, default 30); an event stream, once open, has none.
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
    /** The server's message, or what went wrong on the way. */
    readonly reason: string,
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
    const { url, res, text } = await this.#exchange(method, path, 'application/json', body);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new CliApiError(url, res.status, null, 'the answer is not JSON');
    }
    if (res.ok) return parsed as T;
    throw refusal(url, res, parsed);
  }

  /** A GET whose answer is plain text (a build log); a refusal as for `request`. */
  async text(path: string): Promise<string> {
    const { url, res, text } = await this.#exchange('GET', path, 'text/plain');
    if (res.ok) return text;
    throw refusal(url, res, jsonOrNull(text));
  }

  /**
   * Opens a server-sent event stream (sending `Last-Event-ID` when given). The
   * timeout covers the answer's headers only: a followed log is quiet while its build is.
   */
  async events(path: string, lastEventId?: string): Promise<ReadableStream<Uint8Array>> {
    const url = `${this.base}${path}`;
    const headers = this.#headers('text/event-stream');
    if (lastEventId !== undefined) headers['last-event-id'] = lastEventId;
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), this.timeoutMs);
    try {
      let res: Response;
      try {
        res = await fetch(url, { headers, signal: abort.signal });
      } catch (e) {
        throw this.#failed(url, e, abort.signal.aborted);
      }
      const type = res.headers.get('content-type') ?? '';
      if (res.ok && res.body !== null && type.startsWith('text/event-stream')) return res.body;
      const text = await res.text().catch(() => '');
      if (!res.ok) throw refusal(url, res, jsonOrNull(text));
      throw new CliApiError(url, res.status, null, 'the answer is not an event stream');
    } finally {
      clearTimeout(timer);
    }
  }

  #headers(accept: string): Record<string, string> {
    const headers: Record<string, string> = { accept };
    if (this.token !== undefined) headers.authorization = `Bearer ${this.token}`;
    return headers;
  }

  /** One request and its whole answer, within the timeout. */
  async #exchange(
    method: string,
    path: string,
    accept: string,
    body?: unknown,
  ): Promise<{ url: string; res: Response; text: string }> {
    const url = `${this.base}${path}`;
    const headers = this.#headers(accept);
    if (body !== undefined) headers['content-type'] = 'application/json';
    try {
      const res = await fetch(url, {
        method,
        headers,
        signal: AbortSignal.timeout(this.timeoutMs),
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { url, res, text: await res.text() };
    } catch (e) {
      // A DOMException, which need not be an Error of this realm: go by its name.
      throw this.#failed(url, e, (e as { name?: unknown } | null)?.name === 'TimeoutError');
    }
  }

  #failed(url: string, e: unknown, timedOut: boolean): CliApiError {
    if (timedOut)
      return new CliApiError(url, null, null, `no answer within ${this.timeoutMs / 1000} s`);
    const cause = (toError(e) as Error & { cause?: unknown }).cause;
    return new CliApiError(url, null, null, `unreachable: ${toError(cause ?? e).message}`);
  }
}

/** The server's `{ error: { code, message } }` when it sent one, else the HTTP status text. */
function refusal(url: string, res: Response, body: unknown): CliApiError {
  const err = (body as { error?: { code?: unknown; message?: unknown } } | null)?.error;
  return new CliApiError(
    url,
    res.status,
    typeof err?.code === 'string' ? err.code : null,
    typeof err?.message === 'string' ? err.message : res.statusText,
  );
}

function jsonOrNull(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}

export interface SseEvent {
  /** `message` unless the event named another. */
  readonly type: string;
  readonly data: string;
  /** The last event id seen on the stream, as EventSource reports it. */
  readonly lastEventId: string;
}

/**
 * Server-sent events as EventSource parses them (WHATWG HTML, "Interpreting an
 * event stream"): a line ends at CRLF, LF or a lone CR; `event`, `data` and `id`
 * fields; a blank line dispatches; an event cut off by the end of the stream is dropped.
 */
export class SseParser {
  readonly #decoder = new TextDecoder();
  #buffer = '';
  #type = '';
  #data: string[] = [];
  #idBuffer: string;
  #lastEventId: string;

  /** `lastEventId`: the id a previous connection of the same stream ended at. */
  constructor(lastEventId = '') {
    this.#idBuffer = lastEventId;
    this.#lastEventId = lastEventId;
  }

  /** What to send as Last-Event-ID when the stream has to be opened again. */
  get lastEventId(): string {
    return this.#lastEventId;
  }

  /** Takes the next bytes; answers the events they complete. */
  push(bytes: Uint8Array): SseEvent[] {
    this.#buffer += this.#decoder.decode(bytes, { stream: true });
    const events: SseEvent[] = [];
    let m: RegExpExecArray | null;
    while ((m = /\r\n|\r|\n/.exec(this.#buffer)) !== null) {
      // A CR that ends the chunk may be the first half of a CRLF split across two.
      if (m[0] === '\r' && m.index === this.#buffer.length - 1) break;
      const event = this.#line(this.#buffer.slice(0, m.index));
      if (event !== undefined) events.push(event);
      this.#buffer = this.#buffer.slice(m.index + m[0].length);
    }
    return events;
  }

  #line(line: string): SseEvent | undefined {
    if (line === '') return this.#dispatch();
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'event') this.#type = value;
    else if (field === 'data') this.#data.push(value);
    else if (field === 'id' && !value.includes('\0')) this.#idBuffer = value;
    return undefined;
  }

  #dispatch(): SseEvent | undefined {
    this.#lastEventId = this.#idBuffer;
    const [type, data] = [this.#type, this.#data];
    [this.#type, this.#data] = ['', []];
    if (data.length === 0) return undefined;
    return { type: type || 'message', data: data.join('\n'), lastEventId: this.#lastEventId };
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
