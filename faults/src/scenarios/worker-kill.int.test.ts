/**
 * kill -9 of a worker in the middle of a step (a real `sleep` child process): the jobs it held
 * are queued again as new attempts (`worker_lost`) once it has been silent for WORKER_LOST_MS
 * and run elsewhere; every accepted job ends exactly once.
 */
import { expect, it } from 'vitest';
import { runningJobs } from '../check/run-report.js';
import { killHard } from '../cluster/processes.js';
import { commandJob, runScenario, untilEnded, untilRunning } from '../scenario.js';

const JOBS = 200;

it('kill -9 of a worker mid-step: its jobs re-run as new attempts, none lost or doubled', async () => {
  const { check, strike } = await runScenario('worker-kill', { workers: 2, concurrency: 16 }, async (c) => {
    const accepted = await c.submit(JOBS, commandJob(0.5));
    await untilEnded(c, accepted, JOBS / 4);
    // Strike mid-step: w0 holds running attempts (a batch of its jobs may just have ended).
    await untilRunning(c, accepted, 4, { workerId: 'w0', startedWithinMs: 250 });
    const faultAt = Date.now();
    await killHard(c.workers[0]!);
    // w0 writes nothing after its death: what it holds now is what it held mid-step.
    const affected = await runningJobs(c.pool, accepted, 'w0');
    return { accepted, faults: 1, affected, faultAt };
  });
  expect(check.violations).toEqual([]);
  expect(check.statuses).toEqual({ COMPLETED: JOBS });
  expect(strike.affected.length).toBeGreaterThan(0);
  expect(check.reruns.worker_lost ?? 0).toBeGreaterThan(0);
}, 300_000);
