export * from './build.js';
export * from './codecs.js';
