/**
 * A bulk cancel whose writes fail partway: the writer commits them in several transactions, and
 * what committed stands. The answer says how far it got, and the workers of the running jobs it
 * reached are told. A file of its own: the failure counts in the API's write-error metric.
 */
import { describe, expect, it, beforeAll } from 'vitest';
import { CancelSignal, type JobSpecInput } from '@gantry/contracts';
import { BatchResult } from '../schemas.js';
import { queue, start, TEST_WORKER_ID } from '../testing/fixtures.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';

const t = useTestApi();
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

const job: JobSpecInput = { type: 'bulk-partial', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] };

describe('POST /runner-jobs/cancel', () => {
  it('says how far it got when a write fails partway, and tells the workers of the running jobs it did reach', async () => {
    const submitted = await t.api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [job, job, job] } });
    const ids = BatchResult.parse(submitted.body).jobs.map((j) => j.id);
    const [broken, running] = [ids[0]!, ids[2]!];
    await t.writer.write(queue(running));
    await t.writer.write(start(running));
    // PostgreSQL refuses any change of one of them (a real failure, of this test's own database).
    await t.api.pool.query(`CREATE FUNCTION refuse_bulk_partial() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$`);
    await t.api.pool.query(`CREATE TRIGGER refuse_bulk_partial BEFORE UPDATE ON runner_jobs FOR EACH ROW WHEN (OLD.id = '${broken}') EXECUTE FUNCTION refuse_bulk_partial()`);
    const cancels = t.ns.nc.subscribe(t.ns.names.subjects.cancel(TEST_WORKER_ID), { max: 1 });
    try {
      const res = await t.api.call('POST', '/runner-jobs/cancel', { token: ws.admin, body: { type: 'bulk-partial' } });
      expect(res.status).toBeGreaterThanOrEqual(500);
      expect(res.body).toMatchObject({ detail: expect.stringMatching(/^the bulk cancel stopped after cancelling 1 jobs and requesting the cancel of 1 running ones: .*; repeat the request to cancel the rest$/) });
      for await (const m of cancels) expect(CancelSignal.parse(m.json()).jobId).toBe(running);
    } finally {
      await t.api.pool.query('DROP TRIGGER refuse_bulk_partial ON runner_jobs');
      await t.api.pool.query('DROP FUNCTION refuse_bulk_partial()');
    }
    const { rows } = await t.api.pool.query<{ id: string; status: string }>('SELECT id, status FROM runner_jobs WHERE id = ANY($1::uuid[])', [ids]);
    expect(Object.fromEntries(rows.map((r) => [r.id, r.status]))).toEqual({ [broken]: 'PENDING', [ids[1]!]: 'CANCELLED', [running]: 'RUNNING' });
  });

});
