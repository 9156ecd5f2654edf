/**
 * The job runner's wire format (see runner-source.ts). Pure: no I/O.
 * Requests are JSON lines; replies are binary frames, so output bytes travel
 * as they are, without an encoding step on either side.
 */

/** Frame types the runner sends. */
export type FrameType = 'H' | 'S' | 'O' | 'E' | 'X' | 'F';

export interface Frame {
  readonly type: FrameType;
  /** The request id; 0 for the hello. */
  readonly id: number;
  readonly payload: Buffer;
}

/** Type byte, request id, payload length (uint32, big-endian). */
export const FRAME_HEADER = 9;
const TYPES = new Set<string>(['H', 'S', 'O', 'E', 'X', 'F']);
/** The runner reads at most 64 KiB at a time; anything far larger is a corrupt stream. */
const MAX_PAYLOAD = 16 << 20;

/** The stream is not runner frames (something else wrote to its stdout, or a bug). */
export class FrameFormatError extends Error {}

/** Cuts the runner's stdout into frames, however the bytes are chunked. */
export class FrameReader {
  #buf: Buffer = Buffer.alloc(0);

  constructor(private readonly onFrame: (frame: Frame) => void) {}

  /** Throws FrameFormatError on a corrupt stream; nothing after it can be trusted. */
  push(chunk: Buffer): void {
    let buf = this.#buf.length === 0 ? chunk : Buffer.concat([this.#buf, chunk]);
    while (buf.length >= FRAME_HEADER) {
      const type = String.fromCharCode(buf[0] ?? 0);
      const length = buf.readUInt32BE(5);
      if (!TYPES.has(type) || length > MAX_PAYLOAD)
        throw new FrameFormatError(
          `not a runner frame: ${JSON.stringify(buf.subarray(0, 40).toString('latin1'))}`,
        );
      if (buf.length < FRAME_HEADER + length) break;
      const payload = buf.subarray(FRAME_HEADER, FRAME_HEADER + length);
      this.onFrame({ type: type as FrameType, id: buf.readUInt32BE(1), payload });
      buf = buf.subarray(FRAME_HEADER + length);
    }
    // Copy the remainder: a subarray would pin the whole chunk it came from.
    this.#buf = buf.length === 0 ? Buffer.alloc(0) : Buffer.from(buf);
  }
}

/** Builds a frame; the runner's side of the format, for tests. */
export function encodeFrame(type: FrameType, id: number, payload: Buffer | string = ''): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  const header = Buffer.alloc(FRAME_HEADER);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(id, 1);
  header.writeUInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

/** Parses a JSON payload that must be an object; FrameFormatError otherwise. */
export function jsonPayload(frame: Frame): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(frame.payload.toString('utf8'));
  } catch {
    value = undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new FrameFormatError(`frame ${frame.type} for ${frame.id} holds no JSON object`);
  return value as Record<string, unknown>;
}

/** One request line. JSON.stringify escapes newlines inside strings, so a line is a request. */
export function encodeRequest(request: Readonly<Record<string, unknown>>): string {
  return `${JSON.stringify(request)}\n`;
}
