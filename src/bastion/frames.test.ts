import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import {
  encodeFrame,
  encodeRequest,
  FrameFormatError,
  FrameReader,
  jsonPayload,
  type Frame,
  type FrameType,
} from './frames.js';

const read = (chunks: Buffer[]): Frame[] => {
  const frames: Frame[] = [];
  const reader = new FrameReader((f) => frames.push(f));
  for (const c of chunks) reader.push(c);
  return frames;
};

describe('runner frames', () => {
  it('reads frames whole however the stream is cut, bytes intact', () => {
    const types: FrameType[] = ['H', 'S', 'O', 'E', 'X', 'F'];
    const frame = fc.record({
      type: fc.constantFrom(...types),
      id: fc.integer({ min: 0, max: 0xffffffff }),
      payload: fc.uint8Array({ maxLength: 300 }),
    });
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 8 }), fc.array(fc.nat(400)), (frames, cuts) => {
        const stream = Buffer.concat(
          frames.map((f) => encodeFrame(f.type, f.id, Buffer.from(f.payload))),
        );
        const points = [...new Set(cuts.map((c) => c % (stream.length + 1)))].sort((a, b) => a - b);
        const chunks: Buffer[] = [];
        let at = 0;
        for (const p of [...points, stream.length]) {
          chunks.push(stream.subarray(at, p));
          at = p;
        }
        const got = read(chunks).map((f) => ({ ...f, payload: [...f.payload] }));
        expect(got).toEqual(frames.map((f) => ({ ...f, payload: [...f.payload] })));
      }),
    );
  });

  it('refuses a stream that is not frames, saying what it saw', () => {
    expect(() => read([Buffer.from('Traceback (most recent call last):\n')])).toThrow(
      FrameFormatError,
    );
    expect(() => read([Buffer.from('Traceback (most recent call last):\n')])).toThrow(/Traceback/);
  });

  it('parses JSON payloads, refusing anything but an object', () => {
    expect(jsonPayload({ type: 'S', id: 1, payload: Buffer.from('{"pgid":42}') })).toEqual({
      pgid: 42,
    });
    for (const bad of ['[1]', 'null', '7', '{'])
      expect(() => jsonPayload({ type: 'X', id: 1, payload: Buffer.from(bad) })).toThrow(
        FrameFormatError,
      );
  });

  it('keeps a request on one line, whatever its strings hold', () => {
    const line = encodeRequest({ op: 'run', vars: { content: 'a\nb\r\n\u2028c' } });
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({ op: 'run', vars: { content: 'a\nb\r\n\u2028c' } });
  });
});
