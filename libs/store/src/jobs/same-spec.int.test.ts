import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobSpec, parseWith } from '@gantry/contracts';
import { createWorkspace, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool } from '../db/pool.js';
import { insertJobs } from './insert-jobs.js';
import { isSameJob, storedJobSpecs } from './same-spec.js';

const db = useTestDatabase();
let pool: Pool;
let workspaceId: string;

beforeAll(async () => {
  pool = createPool(db.url, { max: 2, applicationName: 'same-spec-test' });
  workspaceId = await createWorkspace(pool);
});
afterAll(async () => {
  await pool.end();
});

const spec = (overrides: Record<string, unknown> = {}) =>
  parseWith(JobSpec, {
    type: 'build',
    idempotencyKey: 'k',
    payload: { a: 1, b: { c: [1, 2] } },
    runAt: '2030-01-01T00:00:00.1239995Z',
    steps: [
      { name: 'run', phase: 'EXECUTION', type: 'COMMAND', timeoutMs: 5_000, spec: { argv: ['make'], env: { A: '1' } } },
      { name: 'tidy', phase: 'CLEANUP', type: 'NOOP' },
    ],
    ...overrides,
  });

describe('storedJobSpecs', () => {
  it('reads a stored job back as the spec that made it, and tells another spec from it', async () => {
    const id = randomUUID();
    await insertJobs(pool, [{ id, workspaceId, spec: spec(), status: 'QUEUED', actor: 'test' }]);
    const stored = await storedJobSpecs(pool, [id, randomUUID()]);
    expect([...stored.keys()]).toEqual([id]);
    const job = stored.get(id)!;
    expect(job.workspaceId).toBe(workspaceId);
    // Key order and the spelling of the instant do not matter; a field the submitter chose does.
    expect(isSameJob(job, spec({ payload: { b: { c: [1, 2] }, a: 1 }, runAt: '2030-01-01T00:00:00.124Z' }))).toBe(true);
    expect(isSameJob(job, spec({ payload: { a: 2, b: { c: [1, 2] } } }))).toBe(false);
    expect(isSameJob(job, spec({ priority: 51 }))).toBe(false);
    expect(isSameJob(job, spec({ steps: [{ name: 'run', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['make'], env: { A: '1' } } }, { name: 'tidy', phase: 'CLEANUP', type: 'NOOP' }] }))).toBe(false);
    expect(await storedJobSpecs(pool, [])).toEqual(new Map());
  });

  it('reads the run-at the job was submitted with, not the one it has once it ran (a retry’s backoff)', async () => {
    const id = randomUUID();
    const submitted = spec({ idempotencyKey: 'ran-since' });
    await insertJobs(pool, [{ id, workspaceId, spec: submitted, status: 'QUEUED', actor: 'test' }]);
    await pool.query(`UPDATE runner_jobs SET run_at = now() + interval '30 seconds' WHERE id = $1`, [id]);
    expect(isSameJob((await storedJobSpecs(pool, [id])).get(id)!, submitted)).toBe(true);
  });
});
