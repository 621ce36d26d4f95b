/**
 * A workspace's `max_running_jobs` ("Jobs of one workspace running (or dispatched) at once",
 * README) holds across the pools its jobs run in. The claim counted only the pool it claimed
 * for, so a workspace with jobs in two pools ran up to its limit in each.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createJobs, createWorkspace, jobSpec, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool } from '@gantry/store';
import { acquireLease, type Lease } from '../leadership/lease.js';
import { claim, type ClaimOptions } from './claim-sql.js';

const db = useTestDatabase();
let pool: Pool;
let lease: Lease;

beforeAll(async () => {
  pool = createPool(db.url, { max: 4, applicationName: 'limit-pools' });
});
afterAll(async () => {
  await pool.end();
});
beforeEach(async () => {
  await pool.query(`DELETE FROM scheduler_leases`);
  const term = await acquireLease(pool, 'scheduler', 'holder', 60_000);
  lease = { name: 'scheduler', holder: 'holder', term: term! };
});

const options = (poolName: string, over: Partial<ClaimOptions> = {}): ClaimOptions => ({
  pool: poolName,
  limit: 10,
  defaultWorkspaceLimit: 1_000,
  agingSecondsPerPoint: 0,
  ...over,
});

describe('per-workspace running limit across pools', () => {
  it('does not let a workspace with a limit of 2 run 2 jobs in each of two pools', async () => {
    const ws = await createWorkspace(pool);
    await pool.query('UPDATE workspaces SET max_running_jobs = 2 WHERE id = $1', [ws]);
    await createJobs(pool, ws, 3, { spec: jobSpec({ pool: 'a' }) });
    await createJobs(pool, ws, 3, { spec: jobSpec({ pool: 'b' }) });

    const a = await claim(pool, lease, options('a'));
    expect(a.jobs).toHaveLength(2);
    // The workspace now holds its limit (2 dispatched in pool a): pool b must get nothing.
    const b = await claim(pool, lease, options('b'));
    const { rows } = await pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM runner_jobs WHERE workspace_id = $1
         AND (status = 'RUNNING' OR (status = 'QUEUED' AND dispatched_at IS NOT NULL))`,
      [ws],
    );
    expect({ claimedInB: b.jobs.length, heldByWorkspace: rows[0]!.n }).toEqual({ claimedInB: 0, heldByWorkspace: 2 });
  });
});
