export * from './build.js';
export * from './buildset.js';
export * from './codecs.js';
export * from './events.js';
