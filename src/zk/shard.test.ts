import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ZkShardCorruptError } from './recipe-errors.js';
import {
  checksum,
  encodeHeader,
  joinShards,
  needsSharding,
  parseHeader,
  shardName,
  splitIntoShards,
  type ShardHeader,
} from './shard.js';

const header = (data: Buffer, count: number): ShardHeader => ({
  dir: '/b/g-1',
  count,
  length: data.length,
  sha256: checksum(data),
});

describe('shard splitting (pure)', () => {
  it('splits into pieces no larger than the shard size and joins back to the same bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 5000 }),
        fc.integer({ min: 1, max: 700 }),
        (arr, size) => {
          const data = Buffer.from(arr);
          const parts = splitIntoShards(data, size);
          expect(parts.every((p) => p.length > 0 && p.length <= size)).toBe(true);
          expect(parts.length).toBe(Math.ceil(data.length / size));
          expect(joinShards(header(data, parts.length), parts, '/v').equals(data)).toBe(true);
        },
      ),
    );
  });

  it('rejects a missing shard, a wrong length and a wrong checksum', () => {
    const data = Buffer.from('abcdefghij');
    const parts = splitIntoShards(data, 4);
    expect(() => joinShards(header(data, 3), parts.slice(0, 2), '/v')).toThrow(ZkShardCorruptError);
    expect(() => joinShards({ ...header(data, 3), length: 11 }, parts, '/v')).toThrow(
      /expected 11 bytes/,
    );
    const swapped = [parts[1]!, parts[0]!, parts[2]!];
    expect(() => joinShards(header(data, 3), swapped, '/v')).toThrow(/checksum/);
  });

  it('round-trips headers and tells them from inline values', () => {
    const h = header(Buffer.from('x'), 1);
    expect(parseHeader(encodeHeader(h), '/v')).toEqual(h);
    expect(
      parseHeader(Buffer.from('{"dir":"/b","count":1,"length":1,"sha256":"x"}'), '/v'),
    ).toBeNull();
    expect(parseHeader(Buffer.alloc(0), '/v')).toBeNull();
    const broken = Buffer.concat([encodeHeader(h).subarray(0, 22), Buffer.from('{nope')]);
    expect(() => parseHeader(broken, '/v')).toThrow(ZkShardCorruptError);
  });

  it('shards large values and inline values that look like a header', () => {
    expect(needsSharding(Buffer.alloc(10), 10)).toBe(false);
    expect(needsSharding(Buffer.alloc(11), 10)).toBe(true);
    const lookalike = encodeHeader(header(Buffer.from('x'), 1)).subarray(0, 25);
    expect(needsSharding(lookalike, 1000)).toBe(true);
  });

  it('names shards so that they sort in order', () => {
    const names = [0, 1, 9, 10, 123, 99999].map(shardName);
    expect([...names].sort()).toEqual(names);
  });
});
