/**
 * PostgreSQL crashed mid-run (immediate shutdown: no checkpoint, crash recovery at the next
 * start) and started again on the same data a few seconds later. Every service keeps running;
 * writes that failed while it was down are retried or their attempts recovered, and every
 * accepted job ends exactly once.
 */
import { expect, it } from 'vitest';
import { runningJobs } from '../check/run-report.js';
import { noopJob, runScenario, untilEnded, untilRunning } from '../scenario.js';

const JOBS = 200;
/** How long PostgreSQL stays down. */
const DOWN_MS = 2_000;

it('PostgreSQL crash and restart mid-run: every accepted job ends once', async () => {
  const { check, strike } = await runScenario('postgres-restart', { workers: 2, concurrency: 16 }, async (c) => {
    const accepted = await c.submit(JOBS, noopJob(300));
    await untilEnded(c, accepted, JOBS / 4);
    await untilRunning(c, accepted, 4);
    const affected = await runningJobs(c.pool, accepted);
    const faultAt = Date.now();
    await c.postgres.crash();
    await new Promise((r) => setTimeout(r, DOWN_MS));
    await c.postgres.restart();
    return { accepted, faults: 1, affected, faultAt, extra: { downMs: Date.now() - faultAt } };
  });
  expect(check.violations).toEqual([]);
  expect(check.statuses).toEqual({ COMPLETED: JOBS });
  expect(strike.affected.length).toBeGreaterThan(0);
}, 300_000);
