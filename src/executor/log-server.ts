/**
 * The live log stream: a small HTTP server on a loopback address that serves
 * `GET /builds/<requestId>/log?offset=N[&follow=1]` as plain text. Without
 * `follow` it answers with the bytes written so far; with it, the response
 * stays open and carries new bytes until the build ends. The header
 * `X-Log-Size` gives the size at the time of the answer (the next offset when
 * not following). Finished builds stay readable for a while (`recent`).
 */
import { once } from 'node:events';
import { open } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { toError } from '../errors.js';
import type { BuildLog } from './build-log.js';
import { ExecutorLogStreamError } from './errors.js';

const ROUTE = /^\/builds\/([A-Za-z0-9][A-Za-z0-9._-]{0,99})\/log$/;
const CHUNK = 64 * 1024;

export class LogServer {
  /** Per build: the log being opened, and the log once open (to see whether it ended). */
  readonly #logs = new Map<string, { ready: Promise<BuildLog>; log?: BuildLog }>();
  readonly #open = new Set<ServerResponse>();
  readonly #server: Server;
  #url: string | undefined;
  #closing: Promise<void> | undefined;

  constructor(
    private readonly log: Logger,
    private readonly recent: number,
  ) {
    this.#server = createServer((req, res) => this.#handle(req, res));
  }

  /** Base URL, e.g. `http://127.0.0.1:41234`; set once listening. */
  get url(): string | undefined {
    return this.#url;
  }

  async listen(host: string, port: number): Promise<string> {
    this.#server.listen(port, host);
    try {
      await Promise.race([
        once(this.#server, 'listening'),
        once(this.#server, 'error').then(([e]) => Promise.reject(toError(e))),
      ]);
    } catch (e) {
      throw new ExecutorLogStreamError(host, port, toError(e));
    }
    const addr = this.#server.address() as AddressInfo;
    const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
    this.#url = `http://${shown}:${addr.port}`;
    return this.#url;
  }

  /** URL of one build's log. */
  logUrl(requestId: string): string | undefined {
    return this.#url && `${this.#url}/builds/${requestId}/log`;
  }

  /**
   * Makes a build's log readable from the moment it is claimed: readers that
   * come while the file is still being opened wait for it. Beyond `recent`,
   * the oldest ended (or never opened) logs are forgotten.
   */
  add(requestId: string, ready: Promise<BuildLog>): void {
    const entry: { ready: Promise<BuildLog>; log?: BuildLog } = { ready };
    ready.then(
      (log) => (entry.log = log),
      () => this.#logs.get(requestId) === entry && this.#logs.delete(requestId),
    );
    this.#logs.delete(requestId);
    this.#logs.set(requestId, entry);
    if (this.#logs.size <= this.recent) return;
    for (const [id, e] of this.#logs) {
      if (this.#logs.size <= this.recent) break;
      if (e.log?.ended) this.#logs.delete(id);
    }
  }

  /** Stops listening and ends every open response. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const res of this.#open) res.end();
      if (!this.#server.listening) return;
      const closed = once(this.#server, 'close');
      this.#server.close();
      this.#server.closeAllConnections();
      await closed;
    })();
    return this.#closing;
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const match = ROUTE.exec(url.pathname);
    if (!match) return fail(res, 404, 'DRAWBRIDGE_ERR_EXECUTOR_LOG_NOT_FOUND', 'no such route');
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return fail(res, 405, 'DRAWBRIDGE_ERR_EXECUTOR_LOG_METHOD', 'use GET');
    const entry = this.#logs.get(match[1] ?? '');
    if (!entry)
      return fail(
        res,
        404,
        'DRAWBRIDGE_ERR_EXECUTOR_LOG_NOT_FOUND',
        'no such build on this executor',
      );
    const offsetText = url.searchParams.get('offset') ?? '0';
    if (!/^\d{1,15}$/.test(offsetText))
      return fail(res, 400, 'DRAWBRIDGE_ERR_EXECUTOR_LOG_OFFSET', 'offset must be a byte count');
    const follow = url.searchParams.get('follow') === '1';
    const serve = async (): Promise<void> => {
      let log: BuildLog;
      try {
        log = await entry.ready;
      } catch {
        return fail(res, 404, 'DRAWBRIDGE_ERR_EXECUTOR_LOG_NOT_FOUND', 'this build has no log');
      }
      await this.#stream(req, res, log, Number(offsetText), follow);
    };
    serve().catch((e: unknown) => {
      this.log.debug({ err: toError(e) }, 'live log response failed');
      res.destroy();
    });
  }

  async #stream(
    req: IncomingMessage,
    res: ServerResponse,
    log: BuildLog,
    offset: number,
    follow: boolean,
  ): Promise<void> {
    res.writeHead(200, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Log-Size': String(log.size),
      'X-Build-Ended': String(log.ended),
    });
    if (req.method === 'HEAD') return void res.end();
    this.#open.add(res);
    const fh = await open(log.path, 'r');
    let pos = offset;
    let closed = false;
    let wake: (() => void) | undefined;
    const unsubscribe = log.onChange(() => wake?.());
    res.once('close', () => {
      closed = true;
      wake?.();
    });
    try {
      // Without follow, stop at the size seen when the request came in.
      const limit = follow ? Infinity : log.size;
      for (;;) {
        const changed = new Promise<void>((r) => (wake = r));
        const end = Math.min(log.size, limit);
        while (!closed && pos < end) {
          const buf = Buffer.alloc(Math.min(CHUNK, end - pos));
          const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          if (!res.write(buf.subarray(0, bytesRead))) await drained(res);
        }
        if (closed || !follow || (log.ended && pos >= log.size)) break;
        await changed;
      }
    } finally {
      unsubscribe();
      await fh.close();
      this.#open.delete(res);
      if (!closed) res.end();
    }
  }
}

function fail(res: ServerResponse, status: number, code: string, message: string): void {
  res.writeHead(status, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: { code, message } }));
}

/** Resolves when the response can take more, or is gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done);
      res.off('close', done);
      resolve();
    };
    res.once('drain', done);
    res.once('close', done);
  });
}
