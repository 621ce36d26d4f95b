/**
 * A worker frozen with SIGSTOP in the middle of its jobs' steps for longer than the dispatch
 * stream's ack wait (5 s, fixed in the contracts), and so for longer than WORKER_LOST_MS (3 s
 * here):
 * - after WORKER_LOST_MS the scheduler judges it lost and queues its jobs again as new
 *   attempts, which the other worker runs (a re-run is a new dispatch message of the new
 *   attempt, not a redelivery);
 * - after the ack wait JetStream redelivers the dispatches the frozen worker held and never
 *   acked, of the old attempts: the other worker must drop every one of them as stale
 *   (`gantry_dispatches_dropped_total{reason="stale"}`), running nothing twice;
 * - then SIGCONT: the frozen worker wakes with its old attempts still in hand and tries to
 *   finish them; every one of those late writes must be refused by the attempt fence. Its busy
 *   slots dropping to 0 shows it has settled them; the checker shows none of their writes
 *   landed (no event of a superseded attempt, no job finished twice).
 */
import { expect, it } from 'vitest';
import { dispatchConsumer, MetricNames, names } from '@gantry/contracts';
import { metricSum } from '@gantry/testkit';
import { runningJobs } from '../check/run-report.js';
import { waitUntil } from '../cluster/processes.js';
import { DRAIN_TIMEOUT_MS, noopJob, runScenario, untilEnded, untilRunning, untilTrue } from '../scenario.js';

const JOBS = 100;
/** The dispatch consumer's ack wait: how long a held dispatch goes unacknowledged before JetStream redelivers it. */
const ACK_WAIT_MS = dispatchConsumer(names('faults'), 'default').ackWaitMs;

it('SIGSTOP a worker past the dispatch ack wait, then SIGCONT: its redelivered dispatches and its late results are fenced off', async () => {
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
      const requeuedMs = Date.now() - faultAt;
      // Still frozen past the ack wait: the dispatches w0 held come back, to w1, which must drop them.
      const w1 = c.workers[1]!;
      const stale = () => metricSum(w1, MetricNames.dispatchesDropped, { reason: 'stale' });
      await waitUntil(
        async () => Date.now() - faultAt > ACK_WAIT_MS && (await stale()) > 0,
        'no dispatch of the frozen worker was redelivered and dropped as stale',
        ACK_WAIT_MS + 60_000,
      );
      const frozenMs = Date.now() - faultAt;
      frozen.child.kill('SIGCONT');
      return { accepted, faults: 1, affected, faultAt, extra: { requeuedMs, frozenMs, staleRedeliveriesDropped: await stale() } };
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
  expect(strike.extra?.frozenMs).toBeGreaterThan(ACK_WAIT_MS);
  expect(strike.extra?.staleRedeliveriesDropped).toBeGreaterThan(0);
}, 300_000);
