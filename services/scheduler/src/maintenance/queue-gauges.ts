/**
 * The leader's queue gauges: depth per pool and priority, the oldest dispatchable job's age, and
 * the RUNNING jobs past their deadline per pool (0 for a pool with running jobs and none
 * overdue). Each run replaces the previous values.
 */
import type { DutyContext } from './duty.js';

/** Reads the backlog and the overdue running jobs and sets the gauges; returns the dispatchable backlog. */
export async function observeQueueOnce(ctx: Pick<DutyContext, 'pool' | 'metrics'>): Promise<number> {
  const [queued, running] = await Promise.all([
    ctx.pool.query<{ pool: string; priority: number; n: number; oldest_s: number }>(
      `SELECT pool, priority, count(*)::int AS n, extract(epoch FROM now() - min(queued_at))::float8 AS oldest_s
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
    oldest.set(r.pool, Math.max(oldest.get(r.pool) ?? 0, r.oldest_s));
  }
  for (const [pool, age] of oldest) ctx.metrics.queueOldestAge.set({ pool }, age);
  for (const r of running.rows) ctx.metrics.pastDeadline.set({ pool: r.pool }, r.overdue);
  return backlog;
}
