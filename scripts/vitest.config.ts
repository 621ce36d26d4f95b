import { defineConfig } from 'vitest/config';

// The repository scripts' tests: `npm run up` end to end (integration only).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'integration',
          include: ['up/**/*.int.test.ts'],
          globalSetup: ['@gantry/testkit/global-setup'],
          setupFiles: ['@gantry/testkit/leak-check'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
          pool: 'forks',
        },
      },
    ],
  },
});
