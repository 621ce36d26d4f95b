/**
 * kill -9 of the API between commit and publish. The window is hit for certain by taking NATS
 * away first: the API then commits each job (PENDING, `job.created`) and answers 202, but its
 * submit commands cannot reach a broker that is not running, so they wait in the API's memory —
 * and the API is killed there. NATS comes back, the API does not: no submit command for these
 * jobs ever reached a broker, so the scheduler's reconciler (PENDING older than
 * PENDING_GRACE_MS) is the only way they run. Its repair counter and the checker prove it did.
 */
import { expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { metricSum } from '@gantry/testkit';
import { killHard } from '../cluster/processes.js';
import { noopJob, runScenario } from '../scenario.js';

const JOBS = 200;

it('kill -9 of the API after commit, before publish: the reconciler queues the jobs, all run once', async () => {
  const { check, strike, after } = await runScenario(
    'api-kill',
    { workers: 1, concurrency: 16 },
    async (c) => {
      await c.nats.kill();
      const accepted = await c.submit(JOBS, noopJob(50));
      const pending = await c.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM runner_jobs WHERE id = ANY($1::uuid[]) AND status = 'PENDING'`,
        [accepted],
      );
      const faultAt = Date.now();
      await killHard(c.api);
      await c.nats.restart();
      return { accepted, faults: 2, affected: accepted, faultAt, extra: { pendingAtKill: pending.rows[0]!.n } };
    },
    async (c) => ({
      reconcilerQueued: await metricSum(c.schedulers[0]!, MetricNames.reconcilerRepairs, { reason: 'pending_queued' }),
    }),
  );
  expect(check.violations).toEqual([]);
  expect(check.statuses).toEqual({ COMPLETED: JOBS });
  expect(strike.extra?.pendingAtKill).toBeGreaterThan(0);
  expect(after.reconcilerQueued).toBe(JOBS);
}, 300_000);
