import { jsonCodec } from '../zk/codec.js';
import { buildCompletedEventSchema, buildRequestSchema } from './build.js';

export const buildRequestCodec = jsonCodec((v) => buildRequestSchema.parse(v));
export const buildCompletedEventCodec = jsonCodec((v) => buildCompletedEventSchema.parse(v));
