/**
 * The setup the scheduler's integration test files share: a database of their own, a
 * provisioned NATS namespace and an in-process scheduler on both (see `startScheduler`).
 * Started before the file's tests, stopped after them; a file adds its own workspaces in its
 * own `beforeAll`, which runs after this one.
 */
import { afterAll, beforeAll } from 'vitest';
import type { Metrics } from '@gantry/runtime';
import type { Pool } from '@gantry/store';
import { createTestNamespace, started as startedPart, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import type { Scheduler, SchedulerSettings } from '../scheduler.js';
import { type Harness, startScheduler } from './harness.js';

/** What {@link useScheduler} gives a test file; each part throws if read before `beforeAll`. */
export interface SchedulerTestContext {
  readonly ns: TestNamespace;
  readonly pool: Pool;
  readonly scheduler: Scheduler;
  readonly metrics: Metrics;
}

/** Registers the hooks that start and stop the file's namespace and scheduler. */
export function useScheduler(settings: Partial<SchedulerSettings> = {}): SchedulerTestContext {
  const db = useTestDatabase();
  let ns: TestNamespace | undefined;
  let h: Harness | undefined;
  beforeAll(async () => {
    ns = await createTestNamespace({ provision: true });
    h = await startScheduler(db.url, ns, settings);
  });
  afterAll(async () => {
    await h?.stop();
    await ns?.cleanup();
  });
  const started = <T>(part: T | undefined, name: string): T => startedPart(part, 'useScheduler', name);
  return {
    get ns() {
      return started(ns, 'the namespace');
    },
    get pool() {
      return started(h, 'the scheduler').pool;
    },
    get scheduler() {
      return started(h, 'the scheduler').scheduler;
    },
    get metrics() {
      return started(h, 'the scheduler').metrics;
    },
  };
}
