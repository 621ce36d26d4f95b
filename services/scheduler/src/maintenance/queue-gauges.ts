/**
 * The leader's queue gauges: depth per pool and priority (the jobs a claim could take now),
 * the delayed jobs per pool (their runAt to come: a delay, a retry's backoff), the oldest
 * dispatchable job's age, and the RUNNING jobs past their deadline per pool (0 for a pool with
 * running jobs and none overdue). Each run replaces the previous values. Depth is what
 * autoscaling reads (deploy/k8s/components/autoscaling): jobs scheduled for tomorrow must not
 * start workers today.
 */
import type { DutyContext } from './duty.js';

/** Reads the backlog and the overdue running jobs and sets the gauges; returns the dispatchable backlog. */
export async function observeQueueOnce(ctx: Pick<DutyContext, 'pool' | 'metrics'>): Promise<number> {
  const [queued, running] = await Promise.all([
    ctx.pool.query<{ pool: string; priority: number; n: number; delayed: number; oldest_s: number | null }>(
      // The oldest age counts only jobs a claim could take now, from when they became runnable
      // (a delay's or a retry's run_at, as the queue-wait histogram does).
      `SELECT pool, priority, count(*) FILTER (WHERE run_at IS NULL OR run_at <= now())::int AS n,
              count(*) FILTER (WHERE run_at > now())::int AS delayed,
              extract(epoch FROM now() - min(GREATEST(queued_at, run_at)) FILTER (WHERE run_at IS NULL OR run_at <= now()))::float8 AS oldest_s
       FROM runner_jobs WHERE status = 'QUEUED' AND dispatched_at IS NULL GROUP BY pool, priority`,
    ),
    ctx.pool.query<{ pool: string; overdue: number }>(
      `SELECT pool, count(*) FILTER (WHERE deadline_at < now())::int AS overdue
       FROM runner_jobs WHERE status = 'RUNNING' GROUP BY pool`,
    ),
  ]);
  ctx.metrics.queueDepth.reset();
  ctx.metrics.queueDelayed.reset();
  ctx.metrics.queueOldestAge.reset();
  ctx.metrics.pastDeadline.reset();
  const oldest = new Map<string, number>();
  const delayed = new Map<string, number>();
  let backlog = 0;
  for (const r of queued.rows) {
    backlog += r.n;
    if (r.n > 0) ctx.metrics.queueDepth.set({ pool: r.pool, priority: String(r.priority) }, r.n);
    delayed.set(r.pool, (delayed.get(r.pool) ?? 0) + r.delayed);
    // null: every job of the group waits for its run_at, and the pool's age is 0 unless another group has one.
    oldest.set(r.pool, Math.max(oldest.get(r.pool) ?? 0, r.oldest_s ?? 0));
  }
  for (const [pool, age] of oldest) ctx.metrics.queueOldestAge.set({ pool }, age);
  for (const [pool, n] of delayed) ctx.metrics.queueDelayed.set({ pool }, n);
  for (const r of running.rows) ctx.metrics.pastDeadline.set({ pool: r.pool }, r.overdue);
  return backlog;
}
