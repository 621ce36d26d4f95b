/** Queue depth per pool and priority, and the oldest dispatchable job's age, as gauges. */
import type { DutyContext } from './duty.js';

export async function observeQueueOnce(ctx: Pick<DutyContext, 'pool' | 'metrics'>): Promise<void> {
  const { rows } = await ctx.pool.query<{ pool: string; priority: number; n: number; oldest_s: number }>(
    `SELECT pool, priority, count(*)::int AS n, extract(epoch FROM now() - min(queued_at))::float8 AS oldest_s
     FROM runner_jobs WHERE status = 'QUEUED' AND dispatched_at IS NULL GROUP BY pool, priority`,
  );
  ctx.metrics.queueDepth.reset();
  ctx.metrics.queueOldestAge.reset();
  const oldest = new Map<string, number>();
  for (const r of rows) {
    ctx.metrics.queueDepth.set({ pool: r.pool, priority: String(r.priority) }, r.n);
    oldest.set(r.pool, Math.max(oldest.get(r.pool) ?? 0, r.oldest_s));
  }
  for (const [pool, age] of oldest) ctx.metrics.queueOldestAge.set({ pool }, age);
}
