import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWorkspace, jobSpec, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool, withTransaction } from '../db/pool.js';
import { insertJobs, insertJobsUnlessForeign, type NewJob, ONE_STATEMENT_MAX } from './insert-jobs.js';

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

  // Up to ONE_STATEMENT_MAX jobs take one statement, more take an INSERT and two COPYs: both
  // must store the same rows and answer the same way.
  for (const [path, count] of [['one statement', ONE_STATEMENT_MAX], ['INSERT and COPY', ONE_STATEMENT_MAX + 1]] as const) {
    it(`stores the same rows through ${path} (${count} jobs), on a pool in a transaction of its own`, async () => {
      const taken = newJob({ status: 'QUEUED', spec: jobSpec({ idempotencyKey: `taken-${randomUUID()}` }) });
      await insertJobs(pool, [taken]);
      const jobs = Array.from({ length: count - 2 }, () => newJob({ status: 'QUEUED' }));
      const sameKey = newJob({ spec: jobSpec({ idempotencyKey: taken.spec.idempotencyKey }) });
      const batch = [...jobs, sameKey, jobs[0]!];
      const { created, existing } = await insertJobs(pool, batch);
      expect(created.map((c) => c.id)).toEqual(jobs.map((j) => j.id));
      expect(existing).toEqual(new Map([[sameKey.id, taken.id]]));
      const ids = jobs.map((j) => j.id);
      const steps = await pool.query('SELECT count(*)::int AS n, count(DISTINCT job_id)::int AS jobs FROM job_steps WHERE job_id = ANY($1)', [ids]);
      expect(steps.rows[0]).toEqual({ n: 3 * jobs.length, jobs: jobs.length });
      const events = await pool.query(
        `SELECT e.id, e.job_id, e.sequence, e.type, e.created_at, j.created_at AS job_created_at
         FROM job_events e JOIN runner_jobs j ON j.id = e.job_id WHERE e.job_id = ANY($1) ORDER BY e.job_id, e.sequence`,
        [ids],
      );
      expect(events.rows).toHaveLength(2 * jobs.length);
      // The events handed back are the stored ones, with the transaction's time.
      const stored = new Map(events.rows.map((r) => [r.id, r]));
      for (const event of created.flatMap((c) => c.events)) {
        const row = stored.get(event.id);
        expect(row).toMatchObject({ job_id: event.jobId, sequence: event.sequence, type: event.type });
        expect(new Date(event.at).getTime()).toBe(row.created_at.getTime());
      }
      // Nothing of the job that was not created: no steps, no events of its own.
      const orphans = await pool.query('SELECT (SELECT count(*) FROM job_steps WHERE job_id = $1)::int + (SELECT count(*) FROM job_events WHERE job_id = $1)::int AS n', [sameKey.id]);
      expect(orphans.rows[0].n).toBe(0);
    });
  }
});

describe('insertJobsUnlessForeign', () => {
  it('creates what insertJobs would while no id names a job of another workspace', async () => {
    const stored = newJob();
    await insertJobs(pool, [stored]);
    const fresh = newJob({ status: 'QUEUED' });
    const result = await insertJobsUnlessForeign(pool, [fresh, newJob({ id: stored.id, status: 'QUEUED' })]);
    expect(result?.created.map((c) => [c.id, c.status, c.events.map((e) => e.type)])).toEqual([[fresh.id, 'QUEUED', ['job.created', 'job.queued']]]);
    expect(result?.existing).toEqual(new Map([[stored.id, stored.id]]));
  });

  it('inserts nothing, not even its other jobs, when one id belongs to another workspace', async () => {
    const otherWorkspace = await createWorkspace(pool);
    const theirs = newJob({ workspaceId: otherWorkspace });
    await insertJobs(pool, [theirs]);
    const mine = [newJob({ status: 'QUEUED' }), newJob({ id: theirs.id, status: 'QUEUED' }), newJob({ status: 'QUEUED' })];
    expect(await insertJobsUnlessForeign(pool, mine)).toBeUndefined();
    const { rows } = await pool.query(
      `SELECT (SELECT count(*) FROM runner_jobs WHERE id = ANY($1))::int AS jobs,
              (SELECT count(*) FROM job_steps WHERE job_id = ANY($1))::int AS steps,
              (SELECT count(*) FROM job_events WHERE job_id = ANY($1))::int AS events,
              (SELECT workspace_id FROM runner_jobs WHERE id = $2) AS owner`,
      [[mine[0]!.id, mine[2]!.id], theirs.id],
    );
    expect(rows[0]).toEqual({ jobs: 0, steps: 0, events: 0, owner: otherWorkspace });
  });

  it(`takes at most ${ONE_STATEMENT_MAX} jobs`, async () => {
    await expect(insertJobsUnlessForeign(pool, Array.from({ length: ONE_STATEMENT_MAX + 1 }, () => newJob()))).rejects.toThrow(RangeError);
  });
});
