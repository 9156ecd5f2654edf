import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import globals from 'globals';

// Module boundaries (see docs/architecture.md): graph and cron are pure,
// zk knows nothing of jobs, web never imports scheduler internals.
const restrict = (patterns) => ['error', { patterns }];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**', 'bin/**', 'test/support/*.cjs'] },
  js.configs.recommended,
  ...tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver': { typescript: true, node: true } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'import-x/no-cycle': 'error',
    },
  },
  {
    files: ['src/graph/**/*.ts', 'src/cron/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['node:*', 'fs', 'path', 'child_process'],
          message: 'graph/cron are pure: no I/O',
        },
        // The shared error base is the one import they may take.
        {
          group: ['../*', '!../errors.js'],
          message: 'graph/cron import nothing from other modules',
        },
      ]),
      'no-restricted-syntax': [
        'error',
        {
          selector: "MemberExpression[object.name='Date'][property.name='now']",
          message: 'pure: pass `now` in',
        },
        {
          selector: "NewExpression[callee.name='Date'][arguments.length=0]",
          message: 'pure: pass `now` in',
        },
        {
          selector: "MemberExpression[object.name='Math'][property.name='random']",
          message: 'pure: pass a seed in',
        },
      ],
    },
  },
  {
    files: ['src/zk/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: [
            '../graph/*',
            '../config/*',
            '../model/*',
            '../scheduler/*',
            '../executor/*',
            '../web/*',
          ],
          message: 'zk is generic: recipes take a codec and know nothing of jobs',
        },
      ]),
    },
  },
  {
    files: ['src/ops/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: [
            '../graph/*',
            '../config/*',
            '../model/*',
            '../scheduler/*',
            '../executor/*',
            '../web/*',
            '../cli/*',
          ],
          message: 'ops builds on zk only, so that web and cli can both use it',
        },
      ]),
    },
  },
  {
    files: ['src/web/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict([
        {
          group: ['../scheduler/*', '../executor/*'],
          message: 'web talks to schedulers only through ZooKeeper',
        },
      ]),
    },
  },
  {
    files: ['src/**/*.ts'],
    ignores: ['src/cli/**'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'exit', message: 'only src/cli exits' },
        { object: 'process', property: 'env', message: 'only src/cli reads the environment' },
        { object: 'process', property: 'on', message: 'only src/cli installs process handlers' },
      ],
    },
  },
  {
    files: ['**/*.test.ts', 'test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
      '@typescript-eslint/unbound-method': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.cjs', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The status page's script runs in the browser, not in Node.
    files: ['web-ui/**/*.js'],
    languageOptions: { globals: globals.browser },
  },
);
