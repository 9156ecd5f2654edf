/**
 * One build's log file, `<logRoot>/<buildsetId>/<job>-<attempt>.log`, written
 * line by line as output arrives. Readers (the live log server) learn of new
 * bytes through `onChange` and read them from the file: `size` only counts
 * bytes whose write has completed, so whatever it promises is on disk.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { toError } from '../errors.js';
import { ExecutorLogNameError } from './errors.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$/;
/** Directories remembered as made; forgetting them only costs a mkdir. */
const MADE_DIRS_KEPT = 1000;

function checkName(kind: string, value: string): string {
  if (!NAME.test(value) || value.includes('..')) throw new ExecutorLogNameError(kind, value);
  return value;
}

/** The log file of one attempt; throws ExecutorLogNameError for a name that is not a plain file name. */
export function buildLogPath(
  logRoot: string,
  buildsetId: string,
  job: string,
  attempt: number,
): string {
  if (!Number.isInteger(attempt) || attempt < 1)
    throw new ExecutorLogNameError('attempt', String(attempt));
  return join(
    logRoot,
    checkName('buildset id', buildsetId),
    `${checkName('job', job)}-${attempt}.log`,
  );
}

/**
 * Opens for appending, with the size already there. A new file (the usual
 * case) is created exclusively and is empty: no stat, which in a fan-out
 * waited in the thread pool behind every other build's open.
 */
async function openForAppend(path: string): Promise<{ fh: FileHandle; size: number }> {
  try {
    return { fh: await open(path, 'ax', 0o640), size: 0 };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const fh = await open(path, 'a', 0o640);
  try {
    return { fh, size: (await fh.stat()).size };
  } catch (e) {
    await fh.close().catch(() => undefined);
    throw e;
  }
}

export class BuildLog {
  #size = 0;
  #ended = false;
  #pending: Buffer[] = [];
  #writing: Promise<void> = Promise.resolve();
  #error: Error | undefined;
  readonly #listeners = new Set<() => void>();

  private constructor(
    readonly path: string,
    private readonly fh: FileHandle,
  ) {}

  /**
   * Creates the directory unless `made` says it exists, and opens the file for
   * appending (a re-run attempt adds to it). A directory removed meanwhile is made again.
   */
  static async open(path: string, made: Set<string> = new Set()): Promise<BuildLog> {
    const dir = join(path, '..');
    // One mkdir per buildset, not per build: it cost about 1 ms of the executor's CPU each.
    if (!made.has(dir)) await mkdir(dir, { recursive: true });
    const { fh, size } = await openForAppend(path).catch(async (e: unknown) => {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw toError(e);
      await mkdir(dir, { recursive: true });
      return openForAppend(path);
    });
    if (made.size >= MADE_DIRS_KEPT) made.clear();
    made.add(dir);
    const log = new BuildLog(path, fh);
    log.#size = size;
    return log;
  }

  /** Bytes on disk so far. */
  get size(): number {
    return this.#size;
  }
  /** True once the build ended and every line is on disk. */
  get ended(): boolean {
    return this.#ended;
  }
  /** The first write error, if any: the build goes on, its log is incomplete. */
  get error(): Error | undefined {
    return this.#error;
  }

  /** Queues one line; lines that arrive during a write go out together in the next. */
  line(text: string): void {
    if (this.#ended) return;
    this.#pending.push(Buffer.from(`${text}\n`, 'utf8'));
    if (this.#pending.length === 1) this.#writing = this.#writing.then(() => this.#flush());
  }

  /** Called (without arguments) when bytes were added or the log ended. Returns an unsubscribe. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Writes what is queued, closes the file and tells readers. Idempotent. */
  async end(): Promise<void> {
    if (this.#ended) return;
    await this.#writing;
    await this.#flush();
    this.#ended = true;
    await this.fh.close().catch(() => undefined);
    this.#notify();
    this.#listeners.clear();
  }

  async #flush(): Promise<void> {
    if (this.#pending.length === 0) return;
    const chunk = Buffer.concat(this.#pending);
    this.#pending = [];
    try {
      await this.fh.write(chunk);
      this.#size += chunk.length;
    } catch (e) {
      this.#error ??= toError(e);
    }
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) {
      try {
        listener();
      } catch {
        // a reader's trouble is the reader's
      }
    }
  }
}
