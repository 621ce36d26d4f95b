/**
 * The vitest projects every package uses: `unit` (pure, fast) and `integration` (against the
 * real PostgreSQL and NATS on the machine; each file gets its own database and namespace, and
 * fails if it leaks a connection or a consumer).
 */
import { defineConfig } from 'vitest/config';

export function gantryVitestConfig() {
  return defineConfig({
    test: {
      projects: [
        {
          extends: true,
          test: {
            name: 'unit',
            include: ['src/**/*.test.ts'],
            exclude: ['src/**/*.int.test.ts'],
            // A bound for a hung test, not a speed check: some unit tests run a tool (promtool),
            // which took 7 s beside the integration suites on a busy 2-core machine.
            testTimeout: 30_000,
          },
        },
        {
          extends: true,
          test: {
            name: 'integration',
            include: ['src/**/*.int.test.ts'],
            globalSetup: ['@gantry/testkit/global-setup'],
            setupFiles: ['@gantry/testkit/leak-check'],
            testTimeout: 60_000,
            hookTimeout: 120_000,
            pool: 'forks',
            // The files of a run share one process and its loaded modules: each file's own
            // database, namespace and leak check keep them apart, and a fresh module graph per
            // file cost a third of the suite's time (the services' modules loaded ~150 times).
            isolate: false,
          },
        },
      ],
    },
  });
}
