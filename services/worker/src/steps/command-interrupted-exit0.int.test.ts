/**
 * A COMMAND whose process exits 0 on SIGTERM (a trap, a graceful shutdown handler) was recorded
 * COMPLETED although the engine had interrupted it: `runCommand` returned exit 0, the handler
 * returned an output, and the step runner took the value over the interruption. So
 * - the step's own `timeoutMs` passed and the step COMPLETED instead of failing with TIMEOUT;
 * - on drain the attempt was handed back with the interrupted step COMPLETED, and the next
 *   attempt never ran it again.
 * An interruption that fired before the handler returned now decides the step.
 */
import { describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();

/** Prints "ready", then loops until SIGTERM, on which it exits 0. */
const GRACEFUL = "trap 'exit 0' TERM\necho ready\nwhile :; do sleep 0.05; done\n";

describe('a COMMAND interrupted by the engine that exits 0', () => {
  it('fails with TIMEOUT when the step timeout passes, rather than COMPLETED', async () => {
    const { worker, metrics } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 1,
      steps: [{ name: 'slow', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: GRACEFUL, timeoutMs: 500 } }],
    });
    const outcome = await h.run(worker, job.id);
    const [step] = await h.steps(job.id);
    expect({ outcome, step: step!.status, code: step!.error?.code }).toEqual({ outcome: 'FAILED', step: 'FAILED', code: 'TIMEOUT' });
    // A step's timeout is not the job's: gantry_jobs_timed_out_total counts only the job's.
    expect(await metrics.render()).toMatch(new RegExp(`^${MetricNames.jobsTimedOut} 0$`, 'm'));
  });

  it('hands back the interrupted step as PENDING on drain, not COMPLETED', async () => {
    const { worker } = await h.startWorker({ settings: { drainGraceMs: 100 } });
    const job = await h.createJob({
      steps: [
        { name: 'long', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: GRACEFUL } },
        { name: 'after', phase: 'VALIDATION', type: 'NOOP', spec: {} },
      ],
    });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    const ready = h.stdout(job.id, (t) => t.includes('ready'));
    await h.dispatch(job.id, 1);
    await ready;
    await worker.stop({ timeoutMs: 10_000 });
    expect((await ended).outcome).toBe('HANDED_BACK');
    const row = await h.job(job.id);
    expect({ status: row.status, attempt: row.attempt }).toEqual({ status: 'QUEUED', attempt: 2 });
    const [long] = await h.steps(job.id);
    // The command never finished its work: it was stopped by the drain.
    expect(long!.status).toBe('PENDING');
  });
});
