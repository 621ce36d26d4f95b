import { readFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { adminUrl, createJobs, createWorkspace, databaseUrl, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool } from './db/pool.js';
import { migrate } from './migrate.js';
import { MIGRATIONS } from './migrations/index.js';
import { schemaSnapshot } from './schema-snapshot.js';

const db = useTestDatabase();
let pool: Pool;

beforeAll(() => {
  pool = createPool(db.url, { max: 2, applicationName: 'migrate-test' });
});
afterAll(async () => {
  await pool.end();
});

describe('migrations', () => {
  it('apply once when several migrators race on an empty database, and match the committed snapshot', async () => {
    const name = `gantry_mig_${randomBytes(4).toString('hex')}`;
    const admin = new pg.Client({ connectionString: adminUrl() });
    await admin.connect();
    try {
      await admin.query(`CREATE DATABASE ${name}`);
      const url = databaseUrl(name);
      const results = await Promise.all([migrate(url), migrate(url), migrate(url)]);
      expect(results.map((r) => r.applied.length).sort()).toEqual([0, 0, MIGRATIONS.length]);
      expect((await migrate(url)).applied).toEqual([]);

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const snapshot = await schemaSnapshot(client).finally(() => client.end());
      const committed = readFileSync(new URL('../schema.snapshot', import.meta.url), 'utf8');
      expect(snapshot).toBe(committed);
    } finally {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.end();
    }
  });
});

describe('job_events', () => {
  it('is append-only: UPDATE, DELETE and TRUNCATE fail even as raw SQL', async () => {
    const workspaceId = await createWorkspace(pool);
    const [job] = await createJobs(pool, workspaceId);
    await expect(pool.query(`UPDATE job_events SET actor = 'mallory' WHERE job_id = $1`, [job!.id])).rejects.toThrow(
      /append-only: UPDATE/,
    );
    await expect(pool.query('DELETE FROM job_events WHERE job_id = $1', [job!.id])).rejects.toThrow(/append-only: DELETE/);
    await expect(pool.query('TRUNCATE job_events CASCADE')).rejects.toThrow(/append-only: TRUNCATE/);
    const { rows } = await pool.query('SELECT actor FROM job_events WHERE job_id = $1', [job!.id]);
    expect(rows.map((r) => r.actor)).toEqual(['test', 'test']);
  });

  it('keeps its jobs: a job with events cannot be deleted', async () => {
    const workspaceId = await createWorkspace(pool);
    const [job] = await createJobs(pool, workspaceId);
    await expect(pool.query('DELETE FROM runner_jobs WHERE id = $1', [job!.id])).rejects.toThrow(/never deleted/);
  });

  it('refuses a repeated sequence within a job', async () => {
    const workspaceId = await createWorkspace(pool);
    const [job] = await createJobs(pool, workspaceId);
    await expect(
      pool.query(
        `INSERT INTO job_events (id, job_id, workspace_id, sequence, type, actor, attempt)
         VALUES (gen_random_uuid(), $1, $2, 1, 'job.progress', 'x', 1)`,
        [job!.id, workspaceId],
      ),
    ).rejects.toThrow(/job_events_pkey/);
  });
});
