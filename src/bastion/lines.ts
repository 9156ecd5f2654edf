import { StringDecoder } from 'node:string_decoder';

/**
 * Cuts a byte stream into lines (without the `\n` or a trailing `\r`), keeping
 * multi-byte UTF-8 characters whole across chunk boundaries.
 */
export class LineSplitter {
  readonly #decoder = new StringDecoder('utf8');
  #partial = '';

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLineLength = 64 * 1024,
  ) {}

  push(chunk: Buffer): void {
    const text = this.#partial + this.#decoder.write(chunk);
    const parts = text.split('\n');
    this.#partial = parts.pop() ?? '';
    for (const line of parts) this.onLine(stripCr(line));
    // A runaway line without newline must not grow without bound.
    while (this.#partial.length > this.maxLineLength) {
      this.onLine(this.#partial.slice(0, this.maxLineLength));
      this.#partial = this.#partial.slice(this.maxLineLength);
    }
  }

  /** Emits the last, unterminated line if any. */
  end(): void {
    const rest = this.#partial + this.#decoder.end();
    this.#partial = '';
    if (rest.length > 0) this.onLine(stripCr(rest));
  }
}

function stripCr(line: string): string {
  return line.endsWith('\r') ? line.slice(0, -1) : line;
}
