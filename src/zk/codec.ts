/**
 * Codecs turn a recipe's values into the bytes stored in a znode and back.
 * Recipes are generic over their codec, so they never know what they store.
 */
import { ZkDecodeError } from './recipe-errors.js';

export interface Codec<T> {
  encode(value: T): Buffer;
  decode(data: Buffer): T;
}

/**
 * JSON in UTF-8. `parse` validates what was decoded (a zod schema's
 * `parse`, say); without it the decoded value is trusted as T.
 */
export function jsonCodec<T>(parse?: (value: unknown) => T): Codec<T> {
  return {
    encode: (value) => Buffer.from(JSON.stringify(value), 'utf8'),
    decode: (data) => {
      const value: unknown = JSON.parse(data.toString('utf8'));
      return parse ? parse(value) : (value as T);
    },
  };
}

/** Raw bytes, unchanged. */
export const bufferCodec: Codec<Buffer> = {
  encode: (value) => value,
  decode: (data) => data,
};

/** Decodes, naming the znode in the error when the codec throws. */
export function decodeAt<T>(codec: Codec<T>, path: string, data: Buffer): T {
  try {
    return codec.decode(data);
  } catch (e) {
    throw new ZkDecodeError(path, { cause: e });
  }
}
