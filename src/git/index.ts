export * from './diff.js';
export * from './errors.js';
