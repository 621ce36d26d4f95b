import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '@gantry/runtime';
import { createPool, type Pool } from '@gantry/store';
import { createJobs, createWorkspace, jobSpec, useTestDatabase } from '@gantry/testkit';
import { estimatedBacklog, keepBacklogStatisticsOnce, MIN_BACKLOG, MIN_INTERVAL_MS, type StatisticsState } from './backlog-statistics.js';

const db = useTestDatabase();
let pool: Pool;
const logger = createLogger({ service: 'test', version: '0', level: 'silent' });

beforeAll(async () => {
  pool = createPool(db.url, { max: 2, applicationName: 'statistics-test' });
  // This file's database only: autovacuum must not analyze behind the tests' back.
  await pool.query('ALTER TABLE runner_jobs SET (autovacuum_enabled = false)');
});
afterAll(async () => {
  await pool.end();
});

/** The index the claim's per-workspace head by priority would read, and whether it sorts. */
async function priorityHeadPlan(workspaceId: string): Promise<{ indexes: string[]; sorts: boolean }> {
  const { rows } = await pool.query(
    `EXPLAIN (FORMAT JSON) SELECT j.id FROM runner_jobs j
     WHERE j.pool = 'default' AND j.workspace_id = $1 AND j.status = 'QUEUED' AND j.dispatched_at IS NULL
       AND (j.run_at IS NULL OR j.run_at <= now())
     ORDER BY j.priority DESC, j.queued_at, j.id LIMIT 100`,
    [workspaceId],
  );
  const text = JSON.stringify(rows[0]['QUERY PLAN']);
  return { indexes: [...text.matchAll(/"Index Name":"([^"]+)"/g)].map((m) => m[1]!), sorts: text.includes('"Node Type":"Sort"') };
}

describe('keepBacklogStatisticsOnce', () => {
  it('analyzes a backlog the planner underestimates, so the claim walks the priority index', async () => {
    const ws = await createWorkspace(pool);
    for (let i = 0; i < 3; i++) await createJobs(pool, ws, 1_000, { spec: jobSpec({ priority: 10 + i }) });
    const backlog = 3_000;
    const state: StatisticsState = { lastAnalyzeAt: 0 };
    // Never analyzed: the planner believes the backlog is a handful of rows.
    expect(await estimatedBacklog(pool)).toBeLessThan(backlog / 4);

    expect(await keepBacklogStatisticsOnce({ pool, logger }, backlog, state, 1_000_000)).toBe(true);
    expect(await estimatedBacklog(pool)).toBeGreaterThan(backlog / 2);
    expect(await priorityHeadPlan(ws)).toEqual({ indexes: ['runner_jobs_backlog_ws_priority_idx'], sorts: false });

    // Once the estimate is right, nothing more to do, whatever the time.
    expect(await keepBacklogStatisticsOnce({ pool, logger }, backlog, state, 1_000_000 + MIN_INTERVAL_MS)).toBe(false);
  });

  it('leaves small backlogs alone, and analyzes at most once per interval', async () => {
    const state: StatisticsState = { lastAnalyzeAt: 0 };
    // The estimate is not even read for a small backlog.
    const failing = { query: () => Promise.reject(new Error('must not query')) } as unknown as Pool;
    expect(await keepBacklogStatisticsOnce({ pool: failing, logger }, MIN_BACKLOG - 1, state)).toBe(false);
    // A backlog far above the estimate right after an ANALYZE waits for the interval.
    state.lastAnalyzeAt = 5_000_000;
    expect(await keepBacklogStatisticsOnce({ pool: failing, logger }, 1_000_000, state, 5_000_000 + MIN_INTERVAL_MS - 1)).toBe(false);
    expect(await keepBacklogStatisticsOnce({ pool, logger }, 1_000_000, state, 5_000_000 + MIN_INTERVAL_MS)).toBe(true);
  });
});
