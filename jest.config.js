// ESM all the way: execa and p-queue ship only ESM, so tests run under
// --experimental-vm-modules and swc keeps `import` statements as they are.
/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: {
    '^.+\\.ts$': [
      '@swc/jest',
      {
        jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
        module: { type: 'es6' },
      },
    ],
  },
  testMatch: ['<rootDir>/src/**/*.test.ts', '<rootDir>/test/**/*.test.ts'],
  reporters: ['default', '<rootDir>/test/support/summary-reporter.cjs'],
  testTimeout: 60_000,
  // One ZooKeeper per run, shared by test files through per-file chroots.
  globalSetup: '<rootDir>/test/support/zk-global-setup.ts',
  globalTeardown: '<rootDir>/test/support/zk-global-teardown.ts',
};
