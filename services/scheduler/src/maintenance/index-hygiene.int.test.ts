import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@gantry/store';
import { createJobs, createWorkspace, type PrivatePostgres, startPrivatePostgres } from '@gantry/testkit';
import { sweepDeadIndexEntriesOnce } from './index-hygiene.js';

// A server of this file's own. A scan marks an index entry dead only once its row version is
// dead to every transaction the server runs, in any database: on the shared server, one test
// of another file that holds a transaction open (a frozen worker's, say) kept every entry
// unmarked for as long as it ran (40 s of sweeps once marked none of them).
let server: PrivatePostgres;
let pool: Pool;

beforeAll(async () => {
  server = await startPrivatePostgres();
  pool = createPool(server.url, { max: 2, applicationName: 'index-hygiene-test' });
  // No VACUUM may remove the dead entries behind the test's back.
  await pool.query('ALTER TABLE runner_jobs SET (autovacuum_enabled = false)');
});
afterAll(async () => {
  await pool?.end();
  await server?.cleanup();
});

/** Heap and index pages the credit count reads (shared buffers hit or read). */
async function creditCountPages(): Promise<number> {
  const { rows } = await pool.query(`EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON)
    SELECT pool, worker_id, status, count(*)::int AS n FROM runner_jobs
    WHERE status = 'RUNNING' OR (status = 'QUEUED' AND dispatched_at IS NOT NULL)
    GROUP BY pool, worker_id, status`);
  const plan = rows[0]['QUERY PLAN'][0].Plan as { 'Shared Hit Blocks': number; 'Shared Read Blocks': number };
  return plan['Shared Hit Blocks'] + plan['Shared Read Blocks'];
}

describe('sweepDeadIndexEntriesOnce', () => {
  it('lets the credit count skip the entries of jobs that have moved on', async () => {
    const ws = await createWorkspace(pool);
    const jobs = await createJobs(pool, ws, 4_000);
    // Every job is dispatched, runs and completes, in batches, as the pipeline does; 20 keep running.
    for (let i = 0; i < jobs.length; i += 500) {
      const batch = jobs.slice(i, i + 500).map((j) => j.id);
      await pool.query(`UPDATE runner_jobs SET dispatched_at = now() WHERE id = ANY($1::uuid[])`, [batch]);
      await pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'w1' WHERE id = ANY($1::uuid[])`, [batch]);
      await pool.query(`UPDATE runner_jobs SET status = 'COMPLETED', worker_id = NULL WHERE id = ANY($1::uuid[]) AND id <> ALL($2::uuid[])`, [
        batch,
        jobs.slice(0, 20).map((j) => j.id),
      ]);
    }
    const before = await creditCountPages();
    // Without the sweep the credit count never marks anything (bitmap scans) and this fails.
    await sweepDeadIndexEntriesOnce({ pool });
    const after = await creditCountPages();
    expect(after * 4).toBeLessThan(before);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM runner_jobs WHERE status = 'RUNNING'`);
    expect(rows[0].n).toBe(20);
  });
});
