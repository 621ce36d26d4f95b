/**
 * The reconciler: nothing depends on a single NATS message arriving. Each round it
 * - queues PENDING jobs whose submit command never arrived (older than `pendingGraceMs`);
 * - un-marks jobs dispatched but never claimed for `unclaimedMs` (longer than the dispatch
 *   stream's dedup window), so the dispatcher publishes them again;
 * - re-sends the cancel signal of RUNNING jobs whose cancel was not honoured for `cancelResendMs`;
 * - cancels QUEUED and WAITING jobs that still carry a cancel request: their worker's retry,
 *   hand-back or approval park committed just after the request, which then reached no attempt.
 */
import { latestCancelReasonSql, waitingGateSql } from '@gantry/store';
import { sendCancelSignal } from '../commands/job-commands.js';
import { cancelIdle, queueSubmitted } from '../jobs/writes.js';
import { LEASE_HELD_SQL } from '../leadership/lease.js';
import type { DutyContext } from './duty.js';

export interface ReconcilerConfig {
  pendingGraceMs: number;
  unclaimedMs: number;
  cancelResendMs: number;
  /** Rows handled per round and kind at most. */
  limit?: number;
}

export async function reconcileOnce(ctx: DutyContext, config: ReconcilerConfig): Promise<void> {
  const limit = config.limit ?? 1_000;
  const pending = await ctx.pool.query<{ id: string; run_at: Date | null }>(
    `SELECT id, run_at FROM runner_jobs WHERE status = 'PENDING' AND created_at < now() - make_interval(secs => $1 / 1000.0)
     ORDER BY created_at LIMIT $2`,
    [config.pendingGraceMs, limit],
  );
  if (pending.rows.length > 0) {
    const results = await ctx.writer.writeMany(
      pending.rows.map((r) => queueSubmitted({ id: r.id, attempt: 0, failures: 0, maxAttempts: 1, runAt: r.run_at })),
    );
    const queued = results.filter((r) => r.applied).length;
    ctx.metrics.repairs.inc({ reason: 'pending_queued' }, queued);
    if (queued > 0) ctx.wakeDispatcher();
  }

  const unmarked = await ctx.pool.query(
    `UPDATE runner_jobs SET dispatched_at = NULL, version = version + 1, updated_at = now()
     WHERE id IN (SELECT id FROM runner_jobs WHERE status = 'QUEUED' AND dispatched_at < now() - make_interval(secs => $4 / 1000.0)
                  ORDER BY dispatched_at LIMIT $5 FOR UPDATE SKIP LOCKED)
       AND ${LEASE_HELD_SQL}`,
    [ctx.lease.name, ctx.lease.holder, ctx.lease.term, config.unclaimedMs, limit],
  );
  if (unmarked.rowCount) {
    ctx.metrics.repairs.inc({ reason: 'redispatched' }, unmarked.rowCount);
    ctx.wakeDispatcher();
  }

  const cancels = await ctx.pool.query<{ id: string; attempt: number; worker_id: string | null }>(
    `SELECT id, attempt, worker_id FROM runner_jobs
     WHERE status = 'RUNNING' AND cancel_requested_at < now() - make_interval(secs => $1 / 1000.0) LIMIT $2`,
    [config.cancelResendMs, limit],
  );
  for (const job of cancels.rows) sendCancelSignal(ctx, job, 'cancelled');
  if (cancels.rows.length > 0) ctx.metrics.repairs.inc({ reason: 'cancel_resent' }, cancels.rows.length);

  const idle = await ctx.pool.query<{ id: string; attempt: number; status: 'QUEUED' | 'WAITING'; reason: string | null; waiting_step_id: string | null }>(
    `SELECT j.id, j.attempt, j.status, ${latestCancelReasonSql('j.id')} AS reason,
       ${waitingGateSql('j')} AS waiting_step_id
     FROM runner_jobs j WHERE j.cancel_requested_at IS NOT NULL AND j.status IN ('QUEUED', 'WAITING') LIMIT $1`,
    [limit],
  );
  if (idle.rows.length > 0) {
    const results = await ctx.writer.writeMany(
      idle.rows.map((r) => cancelIdle(r, r.status, r.reason, 'scheduler', r.waiting_step_id)),
    );
    ctx.metrics.repairs.inc({ reason: 'cancel_honoured' }, results.filter((r) => r.applied).length);
  }
}
