/**
 * NATS down for longer than WORKER_LOST_MS (3 s here) while every worker is in the middle of its
 * jobs. No heartbeat reaches the scheduler meanwhile, yet every worker runs on and its writes go
 * to PostgreSQL: the scheduler must not judge the workers lost by its own deafness. It waits
 * WORKER_LOST_MS after its connection is back before it judges (as a new leader does after an
 * election), by when the workers have beaten again. Every job then ends once, in its first
 * attempt, with no `job.queued{worker_lost}`.
 */
import { expect, it } from 'vitest';
import { runningJobs } from '../check/run-report.js';
import { noopJob, runScenario, untilRunning } from '../scenario.js';

const WORKERS = 2;
const SLOTS = 8;
const JOBS = WORKERS * SLOTS;
/** Longer than WORKER_LOST_MS (3 s) and the reconciler's interval (0.5 s) together. */
const DOWN_MS = 5_000;
/** Each job's step: it outlasts the outage and the reconnection. */
const STEP_MS = 12_000;

it('NATS down longer than WORKER_LOST_MS: no running job is taken from a worker that kept running', async () => {
  const { check, strike, after } = await runScenario(
    'nats-outage',
    { workers: WORKERS, concurrency: SLOTS },
    async (c) => {
      const accepted = await c.submit(JOBS, noopJob(STEP_MS));
      await untilRunning(c, accepted, JOBS);
      const affected = await runningJobs(c.pool, accepted);
      const faultAt = Date.now();
      await c.nats.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, DOWN_MS));
      await c.nats.restart();
      return { accepted, faults: 1, affected, faultAt, extra: { downMs: Date.now() - faultAt } };
    },
    async (c, s) => {
      const { rows } = await c.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM job_events WHERE job_id = ANY($1::uuid[]) AND type = 'job.queued' AND payload->>'reason' = 'worker_lost'`,
        [s.accepted],
      );
      const attempts = await c.pool.query<{ n: number }>(`SELECT max(attempt)::int AS n FROM runner_jobs WHERE id = ANY($1::uuid[])`, [s.accepted]);
      return { workerLostRequeues: rows[0]!.n, maxAttempt: attempts.rows[0]!.n };
    },
  );
  expect(check.violations).toEqual([]);
  expect(check.statuses).toEqual({ COMPLETED: JOBS });
  expect(strike.affected).toHaveLength(JOBS);
  expect(after).toEqual({ workerLostRequeues: 0, maxAttempt: 1 });
}, 300_000);
