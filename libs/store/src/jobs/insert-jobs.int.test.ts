import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, jobSpec, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool, withTransaction } from '../db/pool.js';
import { insertJobs, type NewJob } from './insert-jobs.js';

const db = useTestDatabase();
let pool: Pool;
let workspaceId: string;

beforeAll(async () => {
  pool = createPool(db.url, { max: 4, applicationName: 'insert-jobs-test' });
  workspaceId = await createWorkspace(pool);
});
afterAll(async () => {
  await pool.end();
});

const newJob = (overrides: Partial<NewJob> = {}): NewJob => ({
  id: randomUUID(),
  workspaceId,
  spec: jobSpec(),
  status: 'PENDING',
  actor: 'api:test',
  ...overrides,
});

describe('insertJobs', () => {
  it('creates jobs with their steps in order and their first events', async () => {
    const queued = newJob({ status: 'QUEUED' });
    const pending = newJob();
    const { created, existing } = await withTransaction(pool, (c) => insertJobs(c, [queued, pending]));
    expect(existing.size).toBe(0);
    expect(created.map((c) => [c.status, c.attempt, c.events.map((e) => e.type)])).toEqual([
      ['QUEUED', 1, ['job.created', 'job.queued']],
      ['PENDING', 0, ['job.created']],
    ]);
    const steps = await pool.query('SELECT name, ordinal, phase, status FROM job_steps WHERE job_id = $1 ORDER BY ordinal', [queued.id]);
    expect(steps.rows).toEqual([
      { name: 'setup', ordinal: 0, phase: 'SETUP', status: 'PENDING' },
      { name: 'execute', ordinal: 1, phase: 'EXECUTION', status: 'PENDING' },
      { name: 'cleanup', ordinal: 2, phase: 'CLEANUP', status: 'PENDING' },
    ]);
    const job = await pool.query('SELECT queued_at FROM runner_jobs WHERE id = $1', [queued.id]);
    expect(job.rows[0].queued_at).toBeInstanceOf(Date);
    const events = await pool.query('SELECT sequence, type FROM job_events WHERE job_id = $1 ORDER BY sequence', [queued.id]);
    expect(events.rows).toEqual([{ sequence: 1, type: 'job.created' }, { sequence: 2, type: 'job.queued' }]);
  });

  it('answers a repeated id or idempotency key with the existing job and creates nothing', async () => {
    const first = newJob({ spec: jobSpec({ idempotencyKey: 'build-42' }) });
    await withTransaction(pool, (c) => insertJobs(c, [first]));
    const sameKey = newJob({ spec: jobSpec({ idempotencyKey: 'build-42' }) });
    const sameId = newJob({ id: first.id });
    const { created, existing } = await withTransaction(pool, (c) => insertJobs(c, [sameKey, sameId]));
    expect(created).toEqual([]);
    expect(existing).toEqual(new Map([[sameKey.id, first.id], [first.id, first.id]]));
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM runner_jobs WHERE idempotency_key = 'build-42'`);
    expect(rows[0].n).toBe(1);
  });

  it('creates exactly one job when the same key races in concurrent transactions', async () => {
    const key = `race-${randomUUID()}`;
    const results = await Promise.all(
      Array.from({ length: 4 }, () => withTransaction(pool, (c) => insertJobs(c, [newJob({ spec: jobSpec({ idempotencyKey: key }) })]))),
    );
    const createdIds = results.flatMap((r) => r.created.map((c) => c.id));
    expect(createdIds).toHaveLength(1);
    for (const r of results.filter((r) => r.created.length === 0)) {
      expect([...r.existing.values()]).toEqual(createdIds);
    }
  });
});
