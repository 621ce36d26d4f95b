/**
 * A cancel requested while a job runs is not lost to what ends the attempt next (README, "Time
 * and failure"): "a job its worker queued again or parked just after the request is cancelled
 * by the reconciler", which finds such jobs by their `cancel_requested_at`. An approve of the
 * parked job (row 16) went through `requeue`, which cleared `cancel_requested_at`: the job was
 * queued again as a new attempt, the reconciler no longer saw the cancel, and the job the user
 * cancelled ran to its end. The approve now cancels it. So did the gate's timeout, which failed
 * the job instead; it now leaves it to the reconciler's cancel.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { Headers, MetricNames } from '@gantry/contracts';
import { createLogger } from '@gantry/runtime';
import { JobWriter } from '@gantry/store';
import { createJobs, createToken, createWorkspace, jobSpec } from '@gantry/testkit';
import { reconcileOnce } from '../maintenance/reconciler.js';
import { enforceTimeoutsOnce } from '../maintenance/timeouts.js';
import type { DutyContext } from '../maintenance/duty.js';
import { schedulerMetrics } from '../metrics.js';
import { publishCommand, waitFor } from '../testing/harness.js';
import { useScheduler } from '../testing/use-scheduler.js';

// The leader's own reconciler runs once when it is elected, then not again during the test: the
// test runs a reconciler pass itself, after the approve, so the order of the two is fixed.
const h = useScheduler({ reconcileIntervalMs: 3_600_000 });
let workspaceId: string;
let token: string;

beforeAll(async () => {
  workspaceId = await createWorkspace(h.pool);
  token = await createToken(h.pool, workspaceId, { scopes: ['jobs:admin'] });
});

async function row(id: string) {
  const { rows } = await h.pool.query<{ status: string; attempt: number; cancel_pending: boolean }>(
    'SELECT status, attempt, cancel_requested_at IS NOT NULL AS cancel_pending FROM runner_jobs WHERE id = $1',
    [id],
  );
  return rows[0]!;
}

async function stepStatus(id: string) {
  return (await h.pool.query<{ status: string }>('SELECT status FROM job_steps WHERE id = $1', [id])).rows[0]!.status;
}

describe('a cancel requested while the job ran, then its park', () => {
  it('ends CANCELLED though its gate is approved before the reconciler’s pass', async () => {
    const spec = jobSpec({ pool: 'approve', steps: [{ name: 'gate', phase: 'EXECUTION', type: 'GATE', spec: { kind: 'approval' } }] });
    const [job] = await createJobs(h.pool, workspaceId, 1, { spec });
    const stepId = job!.stepIds[0]!;
    // A worker (of a pool nobody else serves) runs attempt 1.
    await h.pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'worker', started_at = now(), dispatched_at = now() WHERE id = $1`, [job!.id]);

    // The user cancels it (row 11): the request is recorded, the signal sent.
    await publishCommand(h.ns, 'cancel', { v: 1, kind: 'cancel', id: randomUUID(), workspaceId, jobId: job!.id, reason: 'stop it' }, { [Headers.token]: token });
    await waitFor(async () => (await row(job!.id)).cancel_pending, 10_000, 'the cancel request');

    // The worker reaches the approval gate just after, before the signal: it parks the job (row 15).
    const writer = new JobWriter({ pool: h.pool });
    const parked = await writer.write({
      jobId: job!.id,
      attempt: 1,
      expect: ['RUNNING'],
      to: 'WAITING',
      set: { workerId: null, deadlineAt: null },
      steps: [{ stepId, status: 'WAITING' }],
      events: [{ type: 'job.waiting', actor: 'worker:worker-1', stepId, payload: { stepId } }],
    });
    await writer.stop();
    expect(parked.applied).toBe(true);
    expect(await row(job!.id)).toEqual({ status: 'WAITING', attempt: 1, cancel_pending: true });

    // Someone approves the gate before the reconciler's next pass.
    await publishCommand(h.ns, 'approve', { v: 1, kind: 'approve', id: randomUUID(), workspaceId, jobId: job!.id, stepId, decision: 'approve' }, { [Headers.token]: token });
    await waitFor(async () => (await row(job!.id)).status !== 'WAITING', 10_000, 'the approve handled');
    // The approve honoured the cancel, not its decision: counted a no-op.
    const approvals = (await h.metrics.registry.getSingleMetric(MetricNames.commandsProcessed)!.get()).values
      .filter((v) => v.labels.command === 'approve')
      .map((v) => [v.labels.outcome, v.value]);
    expect(approvals).toEqual([['noop', 1]]);

    // The reconciler's pass, which honours cancels that reached no attempt.
    await withDuty((duty) => reconcileOnce(duty, RECONCILE));
    // The cancel came first: the job must not run again, and its gate, undecided, is skipped.
    expect(await row(job!.id)).toMatchObject({ status: 'CANCELLED' });
    expect(await stepStatus(stepId)).toBe('SKIPPED');
  });

  it('is cancelled, not failed, when its gate’s deadline passes before the reconciler’s pass', async () => {
    const spec = jobSpec({ pool: 'no-workers', steps: [{ name: 'gate', phase: 'EXECUTION', type: 'GATE', spec: { kind: 'approval' } }] });
    const [job] = await createJobs(h.pool, workspaceId, 1, { spec });
    const stepId = job!.stepIds[0]!;
    // Parked just after a cancel request, and its gate's deadline already past.
    await h.pool.query(
      `UPDATE runner_jobs SET status = 'WAITING', cancel_requested_at = now(), deadline_at = now() - interval '1 second' WHERE id = $1`,
      [job!.id],
    );
    await h.pool.query(`UPDATE job_steps SET status = 'WAITING' WHERE id = $1`, [stepId]);
    await withDuty((duty) => enforceTimeoutsOnce(duty, 400));
    expect(await row(job!.id)).toMatchObject({ status: 'WAITING' });
    await withDuty((duty) => reconcileOnce(duty, RECONCILE));
    expect(await row(job!.id)).toMatchObject({ status: 'CANCELLED' });
    expect(await stepStatus(stepId)).toBe('SKIPPED');
  });
});

const RECONCILE = { pendingGraceMs: 60_000, unclaimedMs: 150_000, cancelResendMs: 300 };

/** Runs one maintenance duty of the leader's by hand, with a writer of its own. */
async function withDuty(run: (duty: DutyContext) => Promise<void>): Promise<void> {
  const duty: DutyContext = {
    pool: h.pool,
    writer: new JobWriter({ pool: h.pool }),
    nc: h.ns.nc,
    names: h.ns.names,
    logger: createLogger({ service: 'test', version: '0', level: 'silent' }),
    metrics: schedulerMetrics(h.metrics.registry),
    lease: h.scheduler.leadership.lease!,
    wakeDispatcher: () => h.scheduler.dispatcher.wake(),
    betweenRounds: (fn) => h.scheduler.dispatcher.betweenRounds(fn),
  };
  try {
    await run(duty);
  } finally {
    await duty.writer.stop();
  }
}
