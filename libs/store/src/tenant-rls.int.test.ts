import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobs, createToken, createWorkspace, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool, TENANT_ROLE, TENANT_SETTING } from './index.js';

const db = useTestDatabase();
let pool: Pool;
let a: string;
let b: string;

beforeAll(async () => {
  pool = createPool(db.url, { max: 2, applicationName: 'rls-test' });
  [a, b] = await Promise.all([createWorkspace(pool), createWorkspace(pool)]);
  await createJobs(pool, a, 2);
  await createJobs(pool, b, 3);
  await createToken(pool, a);
});
afterAll(async () => {
  await pool?.end();
});

/** Runs `sql` as the tenant role, with the workspace setting when `workspaceId` is given. */
async function asTenant(workspaceId: string | null, sql: string): Promise<pg.QueryResult> {
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`SET LOCAL ROLE ${TENANT_ROLE}`);
    if (workspaceId !== null) await client.query(`SELECT set_config($1, $2, true)`, [TENANT_SETTING, workspaceId]);
    return await client.query(sql);
  } finally {
    await client.query('ROLLBACK');
    client.release();
  }
}

const COUNTS = `SELECT (SELECT count(*) FROM runner_jobs)::int AS jobs, (SELECT count(*) FROM job_steps)::int AS steps,
  (SELECT count(*) FROM job_events)::int AS events, (SELECT count(DISTINCT workspace_id) FROM runner_jobs)::int AS workspaces`;

describe('row-level security under the tenant role', () => {
  it('shows nothing without the workspace setting', async () => {
    expect((await asTenant(null, COUNTS)).rows[0]).toEqual({ jobs: 0, steps: 0, events: 0, workspaces: 0 });
  });

  it('shows only the set workspace’s jobs, steps and events', async () => {
    const seenByA = (await asTenant(a, COUNTS)).rows[0];
    expect(seenByA).toEqual({ jobs: 2, steps: 6, events: 2 * 2, workspaces: 1 });
    expect((await asTenant(b, COUNTS)).rows[0]).toMatchObject({ jobs: 3, steps: 9, workspaces: 1 });
    const ids = await asTenant(a, 'SELECT DISTINCT workspace_id FROM job_events');
    expect(ids.rows).toEqual([{ workspace_id: a }]);
    // The owner (here a superuser) still sees every workspace.
    expect((await pool.query(COUNTS)).rows[0]).toMatchObject({ jobs: 5, workspaces: 2 });
  });

  it('refuses writes and the token table', async () => {
    await expect(asTenant(a, `UPDATE runner_jobs SET priority = 1`)).rejects.toMatchObject({ code: '42501' });
    await expect(asTenant(a, `INSERT INTO job_events (job_id) VALUES (gen_random_uuid())`)).rejects.toMatchObject({ code: '42501' });
    await expect(asTenant(a, 'SELECT * FROM api_tokens')).rejects.toMatchObject({ code: '42501' });
  });

  it('ends with the transaction: the pooled connection is itself again', async () => {
    await asTenant(a, 'SELECT 1');
    const { rows } = await pool.query(`SELECT current_user AS who, current_setting($1, true) AS ws`, [TENANT_SETTING]);
    expect(rows[0].who).not.toBe(TENANT_ROLE);
    expect(rows[0].ws ?? '').toBe('');
  });
});
