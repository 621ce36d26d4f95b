// Lint rules, including the module boundaries of the workspace:
// - services may import libs; libs never import services;
// - libs/contracts imports nothing with I/O: only zod and its own files.
// Typed rules read the workspace's one program (tsconfig.json), built once for every package.
import tseslint from 'typescript-eslint';

const SERVICES = ['@gantry/api', '@gantry/scheduler', '@gantry/worker'];
const servicePatterns = SERVICES.flatMap((s) => [s, `${s}/*`]);

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', 'docs/**', '.nx/**'] },
  ...tseslint.configs.recommended,
  {
    languageOptions: { parserOptions: { project: ['./tsconfig.json'], tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-console': 'error',
      eqeqeq: ['error', 'always'],
    },
  },
  {
    files: ['libs/*/src/**/*.ts', 'services/*/src/**/*.ts'],
    ignores: ['libs/runtime/src/config.ts', 'libs/runtime/src/env.ts'],
    rules: {
      'no-restricted-properties': [
        'error',
        { object: 'process', property: 'env', message: 'Read configuration through loadConfig of @gantry/runtime.' },
      ],
    },
  },
  {
    files: ['libs/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: servicePatterns, message: 'Libraries never import services.' },
            { group: ['**/services/**'], message: 'Libraries never import services.' },
          ],
        },
      ],
    },
  },
  {
    files: ['libs/contracts/src/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '^(?!zod$|\\.{1,2}/)',
              message: 'libs/contracts imports nothing with I/O: only zod and its own modules.',
            },
          ],
        },
      ],
      'no-restricted-globals': ['error', 'process', 'fetch', 'require', 'Buffer'],
    },
  },
  {
    files: ['services/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            { group: ['**/libs/**'], message: 'Import a library by its package name (@gantry/…).' },
            { group: ['@gantry/*/src/**'], message: 'Import a library through its public entry.' },
          ],
        },
      ],
    },
  },
  {
    files: ['**/*.test.ts', '**/bench/**/*.ts', '**/scripts/**/*.ts', '**/cli/**/*.ts'],
    rules: { 'no-console': 'off' },
  },
);
