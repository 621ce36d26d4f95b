/**
 * GantryJobFailureRatioHigh and the overview's "Failure ratio" panel read
 * gantry_jobs_finished_total{status="FAILED"}. Workers count the jobs they end; the jobs the
 * scheduler fails itself (a lost worker's job with no attempt left, an overdue one, an approval
 * gate past its deadline) were counted by nobody, so a crash-looping worker pool that failed
 * every job tripped neither. The scheduler counts them now (`countEnded`).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { createJobs, createWorkspace, jobSpec } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { FakeWorker, ownPool, waitFor } from '../testing/harness.js';

const h = useScheduler({ workerLostMs: 1_000 });
let ws: string;

beforeAll(async () => {
  ws = await createWorkspace(h.pool);
});

describe('jobs the scheduler fails', () => {
  it('are counted as FAILED in gantry_jobs_finished_total (what GantryJobFailureRatioHigh reads)', async () => {
    const pool = await ownPool(h.ns, 'lost');
    const [job] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ pool, maxAttempts: 1 }) });
    const doomed = new FakeWorker(h.ns, h.pool, 1, { pool });
    doomed.start();
    const status = async () => (await h.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [job!.id])).rows[0]!.status;
    await waitFor(async () => (await status()) === 'RUNNING', 15_000, 'the claim');
    await doomed.stop();
    await waitFor(async () => (await status()) === 'FAILED', 20_000, 'the lost worker’s job to fail');
    const { rows } = await h.pool.query<{ error: { code: string } }>('SELECT error FROM runner_jobs WHERE id = $1', [job!.id]);
    expect(rows[0]!.error.code).toBe('WORKER_LOST');

    const text = await h.metrics.render();
    const failed = text.split('\n').filter((l) => l.startsWith(`${MetricNames.jobsFinished}{`) && l.includes('status="FAILED"'));
    expect(failed, text).toEqual([`${MetricNames.jobsFinished}{type="${jobSpec({ pool }).type}",status="FAILED"} 1`]);
  }, 60_000);
});
