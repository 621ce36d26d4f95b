/**
 * A worker frozen with SIGSTOP in the middle of its jobs' steps for longer than WORKER_LOST_MS
 * (3 s here): the scheduler judges it lost and queues its jobs again as new attempts, which
 * the other worker runs. Then SIGCONT: the frozen worker wakes with its old attempts still in
 * hand and tries to finish them — every one of those late writes must be refused by the
 * attempt fence. The worker's busy slots dropping to 0 shows it has settled its old attempts;
 * the checker shows none of their writes landed (no event of a superseded attempt, no job
 * finished twice). The dispatch stream's ack wait (30 s, fixed in the contracts) is not what
 * recovers the jobs: a re-run is a new dispatch message of the new attempt.
 */
import { expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { runningJobs } from '../check/run-report.js';
import { metricSum } from '../cluster/metrics.js';
import { waitUntil } from '../cluster/processes.js';
import { DRAIN_TIMEOUT_MS, noopJob, runScenario, untilEnded, untilRunning, untilTrue } from '../scenario.js';

const JOBS = 100;

it('SIGSTOP a worker past the lost-worker timeout, then SIGCONT: its late results are fenced off', async () => {
  const { check, strike, after } = await runScenario(
    'worker-freeze',
    { workers: 2, concurrency: 16 },
    async (c) => {
      const accepted = await c.submit(JOBS, noopJob(1_000));
      await untilEnded(c, accepted, 16);
      // Strike mid-step: w0 holds running attempts (a batch of its jobs may just have ended).
      await untilRunning(c, accepted, 4, { workerId: 'w0', startedWithinMs: 500 });
      const frozen = c.workers[0]!;
      frozen.child.kill('SIGSTOP');
      const faultAt = Date.now();
      // Nothing of w0 moves now: the jobs it holds are what it holds frozen, mid-step.
      const affected = await runningJobs(c.pool, accepted, 'w0');
      // Frozen until the scheduler has judged it lost: no job is RUNNING on w0 any more. (A job
      // whose completion w0 had already sent when it froze may still commit, at its own attempt.)
      await untilTrue(
        c,
        `SELECT NOT EXISTS (SELECT 1 FROM runner_jobs WHERE id = ANY($1::uuid[]) AND status = 'RUNNING' AND worker_id = 'w0') AS ok`,
        [affected],
        'the frozen worker’s jobs were not queued again',
        affected,
      );
      const frozenMs = Date.now() - faultAt;
      frozen.child.kill('SIGCONT');
      return { accepted, faults: 1, affected, faultAt, extra: { frozenMs } };
    },
    async (c) => {
      const w0 = c.workers[0]!;
      await waitUntil(async () => (await metricSum(w0, MetricNames.slotsBusy)) === 0, 'the woken worker did not settle its old attempts', DRAIN_TIMEOUT_MS);
      return { wokenWorkerBusySlots: await metricSum(w0, MetricNames.slotsBusy) };
    },
  );
  expect(check.violations).toEqual([]);
  expect(check.statuses).toEqual({ COMPLETED: JOBS });
  expect(strike.affected.length).toBeGreaterThan(0);
  expect(check.reruns.worker_lost ?? 0).toBeGreaterThan(0);
  expect(after.wokenWorkerBusySlots).toBe(0);
}, 300_000);
