/**
 * Aging "adds one priority point per AGING_SECONDS_PER_POINT of waiting" (README), counted from
 * when a job became runnable: a job delayed by its `runAt` (or a retry's backoff) does not wait
 * in the queue before it, as the queue-wait histogram and the oldest-age gauge already counted.
 * The claim aged it from `queued_at` (its submit), so a low-priority job scheduled an hour ahead
 * was at the maximum priority the moment it became runnable, and beat fresh urgent jobs.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createJobs, createWorkspace, jobSpec, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool } from '@gantry/store';
import { acquireLease, type Lease } from '../leadership/lease.js';
import { claim } from './claim-sql.js';

const db = useTestDatabase();
let pool: Pool;
let lease: Lease;

beforeAll(async () => {
  pool = createPool(db.url, { max: 4, applicationName: 'aging-delayed' });
});
afterAll(async () => {
  await pool.end();
});
beforeEach(async () => {
  await pool.query(`DELETE FROM scheduler_leases`);
  const term = await acquireLease(pool, 'scheduler', 'holder', 60_000);
  lease = { name: 'scheduler', holder: 'holder', term: term! };
});

describe('aging of delayed jobs', () => {
  it('does not count the time before runAt as waiting: a fresh urgent job goes before a low job that just became runnable', async () => {
    const ws = await createWorkspace(pool);
    // A priority-10 job submitted an hour ago with runAt one second ago (it just became runnable).
    const [delayed] = await createJobs(pool, ws, 1, { spec: jobSpec({ priority: 10, pool: 'aging' }) });
    await pool.query(
      `UPDATE runner_jobs SET queued_at = now() - interval '1 hour', run_at = now() - interval '1 second' WHERE id = $1`,
      [delayed!.id],
    );
    // A priority-90 job queued just now.
    const [urgent] = await createJobs(pool, ws, 1, { spec: jobSpec({ priority: 90, pool: 'aging' }) });

    const { jobs } = await claim(pool, lease, { pool: 'aging', limit: 1, defaultWorkspaceLimit: 1_000, agingSecondsPerPoint: 10 });
    // One second of real waiting is worth no aging point at 10 s a point: 10 < 90.
    const name = (id: string) => (id === urgent!.id ? 'urgent p90, fresh' : id === delayed!.id ? 'p10, runnable 1 s ago' : id);
    expect(jobs.map((j) => name(j.id))).toEqual(['urgent p90, fresh']);
  });
});
