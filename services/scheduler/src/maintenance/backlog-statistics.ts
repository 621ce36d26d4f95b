/**
 * Keeps PostgreSQL's statistics in step with the backlog. `runner_jobs` is a queue table: its
 * statistics describe whatever the queue looked like at the last ANALYZE, and autovacuum only
 * analyzes again after a tenth of the table changed. A burst that arrives after a quiet spell
 * (or into a table never analyzed) therefore meets a planner that believes the backlog's partial
 * indexes hold about one row, and the claim's per-workspace heads then read and sort a
 * workspace's whole backlog every round instead of walking the priority index for its first
 * rows (17 ms a round over 20,000 jobs, growing with the backlog).
 *
 * Each maintenance pass compares the dispatchable backlog the queue gauges counted with the
 * planner's estimate of it and runs `ANALYZE runner_jobs` when the estimate is far below the
 * count: at least {@link MIN_BACKLOG} jobs, a quarter of them or fewer estimated, and no
 * ANALYZE by this leader in the last {@link MIN_INTERVAL_MS}. ANALYZE reads a fixed sample and
 * takes no lock that blocks reads or writes. An estimate above the count does no such harm and
 * is left to autovacuum. ANALYZE needs the table owner's role, which the scheduler has when it
 * connects as the role that ran the migrations (as the deploy's single application role does);
 * under another role PostgreSQL skips the table with a warning, and plans are as before.
 */
import type { DutyContext } from './duty.js';

/** A backlog smaller than this is cheap to read whatever the plan. */
export const MIN_BACKLOG = 1_000;
/** How often this leader analyzes at most. */
export const MIN_INTERVAL_MS = 30_000;

const ESTIMATE_SQL = `EXPLAIN (FORMAT JSON) SELECT 1 FROM runner_jobs WHERE status = 'QUEUED' AND dispatched_at IS NULL`;

/** What the duty remembers between passes. */
export interface StatisticsState {
  lastAnalyzeAt: number;
}

/** The planner's estimate of the dispatchable backlog. */
export async function estimatedBacklog(pool: DutyContext['pool']): Promise<number> {
  const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: { 'Plan Rows': number } }] }>(ESTIMATE_SQL);
  return rows[0]!['QUERY PLAN'][0].Plan['Plan Rows'];
}

/**
 * Analyzes `runner_jobs` when the planner underestimates a `backlog` of dispatchable jobs (see
 * the module doc); returns whether it did.
 */
export async function keepBacklogStatisticsOnce(
  ctx: Pick<DutyContext, 'pool' | 'logger'>,
  backlog: number,
  state: StatisticsState,
  now = Date.now(),
): Promise<boolean> {
  if (backlog < MIN_BACKLOG || now - state.lastAnalyzeAt < MIN_INTERVAL_MS) return false;
  const estimate = await estimatedBacklog(ctx.pool);
  if (estimate * 4 > backlog) return false;
  state.lastAnalyzeAt = now;
  await ctx.pool.query('ANALYZE runner_jobs');
  ctx.logger.info({ backlog, estimate }, 'the planner underestimated the backlog: runner_jobs analyzed');
  return true;
}
