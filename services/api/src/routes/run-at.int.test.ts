/**
 * A job's runAt was checked by the year as written, not by its moment (a runAt in the year 10000
 * was stored and answered in a form no RFC 3339 parser, the API's own schemas included, takes),
 * not against Limits.maxDelayMs, and the submit's answer showed a runAt cut to the millisecond
 * where the stored job's was rounded.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { Limits, type JobSpecInput } from '@gantry/contracts';
import { JobDetail, JobView } from '../schemas.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';

const t = useTestApi();
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

const spec = (overrides: Partial<JobSpecInput> = {}): JobSpecInput => ({
  type: 'build',
  steps: [{ name: 'compile', phase: 'EXECUTION', type: 'NOOP' }],
  ...overrides,
});

const submit = (body: unknown, headers: Record<string, string> = {}) =>
  t.api.call('POST', '/runner-jobs', { token: ws.writer, body, headers });

describe('runAt', () => {
  it('refuses a runAt whose moment lies past the year 9999 (written 9999 with a negative offset)', async () => {
    // 9999-12-31T23:59:59-15:00 is 10000-01-01T14:59:59Z.
    const res = await submit(spec({ runAt: '9999-12-31T23:59:59-15:00' }));
    expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ path: 'runAt', message: expect.stringMatching(/years 0001 to 9999/) }] });
  });

  it(`refuses a runAt further ahead than Limits.maxDelayMs (${Limits.maxDelayMs} ms) with LIMIT_EXCEEDED`, async () => {
    const runAt = new Date(Date.now() + Limits.maxDelayMs + 30 * 24 * 3600 * 1000).toISOString();
    const res = await submit(spec({ runAt }));
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'LIMIT_EXCEEDED' });
  });

  it('answers a submit with the runAt the stored job has (finer than a millisecond)', async () => {
    // PostgreSQL rounds .0009999 to .001000; the answer was built from Date.parse, which cuts it to .000.
    const day = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10);
    const res = await submit(spec({ runAt: `${day}T00:00:00.0009999Z` }));
    expect(res.status).toBe(202);
    const job = JobView.parse(res.body);
    const read = JobDetail.parse((await t.api.call('GET', `/runner-jobs/${job.id}`, { token: ws.reader })).body);
    expect(job.runAt).toBe(read.runAt);
  });
});
