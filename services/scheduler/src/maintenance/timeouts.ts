/**
 * Deadlines. A RUNNING job past `deadline_at` gets a timeout cancel signal (every round until it
 * leaves RUNNING); its worker aborts, runs CLEANUP and reports the TIMEOUT failure. If it has
 * not within `graceMs`, the scheduler ends the attempt itself. A WAITING approval gate past its
 * deadline fails the job.
 *
 * `gantry_jobs_timed_out_total` counts an attempt where it ends: here for those the scheduler
 * ends, in the worker for the rest. Counting where a deadline is first seen counted a job again
 * in each leader that saw it overdue (after a leadership change, or once its memory was full).
 */
import type { JobError } from '@gantry/contracts';
import { sendCancelSignal } from '../commands/job-commands.js';
import { attemptFailed, countEnded, type DutyContext, ORPHAN_COLUMNS, type OrphanedJob } from './duty.js';

/**
 * WAITING jobs past their gate's deadline, each with its waiting step; not those parked just
 * after a cancel request, which the reconciler cancels (the request came first). The step is looked up per
 * job through `(job_id, ordinal)`: `job_steps` has no index on its status, and a join let the
 * planner hash the whole table's WAITING steps in every pass, a scan of every step ever written.
 */
export const GATES_OVERDUE_SQL = `SELECT j.id, j.type, j.attempt, j.failures, s.id AS step_id FROM runner_jobs j
  CROSS JOIN LATERAL (
    SELECT s.id FROM job_steps s WHERE s.job_id = j.id AND s.status = 'WAITING' ORDER BY s.ordinal LIMIT 1
  ) s
  WHERE j.status = 'WAITING' AND j.deadline_at < now() AND j.cancel_requested_at IS NULL ORDER BY j.deadline_at LIMIT $1`;

export async function enforceTimeoutsOnce(ctx: DutyContext, graceMs: number, limit = 1_000): Promise<void> {
  const overdue = await ctx.pool.query<OrphanedJob & { worker_id: string | null; grace_over: boolean }>(
    `SELECT ${ORPHAN_COLUMNS}, j.worker_id, j.deadline_at < now() - make_interval(secs => $1 / 1000.0) AS grace_over
     FROM runner_jobs j WHERE j.status = 'RUNNING' AND j.deadline_at < now() ORDER BY j.deadline_at LIMIT $2`,
    [graceMs, limit],
  );
  const error: JobError = { code: 'TIMEOUT', message: 'the job ran past its timeout', retryable: true };
  const expired = overdue.rows.filter((j) => j.grace_over);
  for (const job of overdue.rows) if (!job.grace_over) sendCancelSignal(ctx, job, 'timeout');
  if (expired.length > 0) {
    // Between rounds, as the lost workers' requeue (`DutyContext.betweenRounds`): a worker that
    // never stopped the job, or is gone, may still look live to a round under way.
    const results = await ctx.betweenRounds(() => ctx.writer.writeMany(expired.map((job) => attemptFailed(job, error, 'retry'))));
    countEnded(ctx.metrics, expired, results);
    // Not a job that a cancel request, pending, ended CANCELLED instead (`attemptFailed`).
    ctx.metrics.timedOut.inc(results.filter((r) => r.applied && r.status !== 'CANCELLED').length);
    const requeued = results.filter((r) => r.applied && r.status === 'QUEUED').length;
    if (requeued > 0) {
      ctx.metrics.requeued.inc({ reason: 'timeout' }, requeued);
      ctx.wakeDispatcher();
    }
  }

  const gates = await ctx.pool.query<{ id: string; type: string; attempt: number; failures: number; step_id: string }>(GATES_OVERDUE_SQL, [limit]);
  if (gates.rows.length === 0) return;
  const gateError: JobError = { code: 'TIMEOUT', message: 'nobody decided the approval gate in time', retryable: false };
  const decided = await ctx.writer.writeMany(
    gates.rows.map((g) => ({
      jobId: g.id,
      attempt: g.attempt,
      expect: ['WAITING'] as const,
      to: 'FAILED' as const,
      set: { failures: g.failures + 1, error: { ...gateError, stepId: g.step_id }, completedAt: 'now' as const, deadlineAt: null },
      steps: [{ stepId: g.step_id, status: 'FAILED' as const, error: { ...gateError, stepId: g.step_id }, completedAt: 'now' as const }],
      events: [
        { type: 'gate.failed' as const, stepId: g.step_id, actor: 'scheduler', payload: { kind: 'approval' as const, reason: 'timed out' } },
        { type: 'job.failed' as const, actor: 'scheduler', payload: { error: { ...gateError, stepId: g.step_id }, attempts: g.attempt } },
      ],
    })),
  );
  countEnded(ctx.metrics, gates.rows, decided);
}
