/**
 * The leader's queue gauges: depth per pool and priority, the oldest dispatchable job's age, and
 * the RUNNING jobs past their deadline per pool (0 for a pool with running jobs and none
 * overdue). Each run replaces the previous values.
 */
import type { DutyContext } from './duty.js';

/** Reads the backlog and the overdue running jobs and sets the gauges; returns the dispatchable backlog. */
export async function observeQueueOnce(ctx: Pick<DutyContext, 'pool' | 'metrics'>): Promise<number> {
  const [queued, running] = await Promise.all([
    ctx.pool.query<{ pool: string; priority: number; n: number; oldest_s: number | null }>(
      // The oldest age counts only jobs a claim could take now, from when they became runnable
      // (a delay's or a retry's run_at, as the queue-wait histogram does).
      `SELECT pool, priority, count(*)::int AS n,
              extract(epoch FROM now() - min(GREATEST(queued_at, run_at)) FILTER (WHERE run_at IS NULL OR run_at <= now()))::float8 AS oldest_s
       FROM runner_jobs WHERE status = 'QUEUED' AND dispatched_at IS NULL GROUP BY pool, priority`,
    ),
    ctx.pool.query<{ pool: string; overdue: number }>(
      `SELECT pool, count(*) FILTER (WHERE deadline_at < now())::int AS overdue
       FROM runner_jobs WHERE status = 'RUNNING' GROUP BY pool`,
    ),
  ]);
  ctx.metrics.queueDepth.reset();
  ctx.metrics.queueOldestAge.reset();
  ctx.metrics.pastDeadline.reset();
  const oldest = new Map<string, number>();
  let backlog = 0;
  for (const r of queued.rows) {
    backlog += r.n;
    ctx.metrics.queueDepth.set({ pool: r.pool, priority: String(r.priority) }, r.n);
    // null: every job of the group waits for its run_at, and the pool's age is 0 unless another group has one.
    oldest.set(r.pool, Math.max(oldest.get(r.pool) ?? 0, r.oldest_s ?? 0));
  }
  for (const [pool, age] of oldest) ctx.metrics.queueOldestAge.set({ pool }, age);
  for (const r of running.rows) ctx.metrics.pastDeadline.set({ pool: r.pool }, r.overdue);
  return backlog;
}
