import { beforeAll, describe, expect, it } from 'vitest';
import { Headers, Limits, SubmitCommand, type JobSpecInput } from '@gantry/contracts';
import { BatchResult } from '../schemas.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';
import { streamMessages } from '../testing/stream-read.js';

const t = useTestApi();
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

const job = (i: number, overrides: Partial<JobSpecInput> = {}): JobSpecInput => ({
  type: 'batch-test',
  priority: i % 101,
  payload: { i },
  steps: [
    { name: 'run', phase: 'EXECUTION', type: 'NOOP' },
    { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
  ],
  ...overrides,
});

const batch = (jobs: unknown[], headers: Record<string, string> = {}) =>
  t.api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs }, headers });

async function footprint(): Promise<[number, number, number, number]> {
  await t.api.server.deps.announcer.idle(10_000);
  const { rows } = await t.api.pool.query<{ jobs: number; steps: number; events: number }>(
    `SELECT (SELECT count(*)::int FROM runner_jobs) AS jobs, (SELECT count(*)::int FROM job_steps) AS steps,
            (SELECT count(*)::int FROM job_events) AS events`,
  );
  const commands = await t.ns.jsm.streams.info(t.ns.names.streams.commands);
  return [rows[0]!.jobs, rows[0]!.steps, rows[0]!.events, commands.state.messages];
}

describe('POST /runner-jobs/batch', () => {
  it('stores a full batch in one transaction and publishes one submit command per job', async () => {
    const [jobs0, steps0, events0, commands0] = await footprint();
    const res = await batch(Array.from({ length: Limits.maxBatchJobs }, (_, i) => job(i)), { 'x-request-id': 'req-batch' });
    expect(res.status).toBe(202);
    const { jobs } = BatchResult.parse(res.body);
    expect(jobs).toHaveLength(Limits.maxBatchJobs);
    expect(jobs.every((j) => j.created && j.status === 'PENDING')).toBe(true);
    expect(await footprint()).toEqual([jobs0 + 1000, steps0 + 2000, events0 + 1000, commands0 + 1]);

    // In request order, each job as submitted; all created by one transaction.
    const { rows } = await t.api.pool.query<{ id: string; i: number; created_at: Date }>(
      `SELECT id, (payload->>'i')::int AS i, created_at FROM runner_jobs WHERE id = ANY($1::uuid[])`,
      [jobs.map((j) => j.id)],
    );
    const byId = new Map(rows.map((r) => [r.id, r]));
    expect(jobs.map((j) => byId.get(j.id)!.i)).toEqual(jobs.map((_, i) => i));
    expect(new Set(rows.map((r) => r.created_at.getTime())).size).toBe(1);

    // One submit command announces the whole batch, by id.
    const published = await streamMessages(t.ns.jsm, t.ns.names.streams.commands);
    const mine = published.filter((m) => m.header(Headers.requestId) === 'req-batch');
    expect(mine).toHaveLength(1);
    const command = SubmitCommand.parse(mine[0]!.body);
    expect(command.workspaceId).toBe(ws.id);
    expect(command.jobs!.map((j) => j.jobId)).toEqual(jobs.map((j) => j.id));
    expect(command.jobs!.every((j) => j.job === undefined)).toBe(true);
  });

  it('refuses the whole batch when one job is invalid, naming it, and writes nothing', async () => {
    const before = await footprint();
    const jobs = [job(0), job(1), { ...job(2), steps: [{ name: 'x', phase: 'LATER', type: 'NOOP' }] }, job(3, { extra: true } as never)];
    const res = await batch(jobs);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED' });
    expect((res.body as { errors: { path: string }[] }).errors.map((e) => e.path)).toEqual(['jobs.2.steps.0.phase', 'jobs.3.extra']);
    expect(await footprint()).toEqual(before);
  });

  it('refuses more than 1,000 jobs and an empty batch', async () => {
    const before = await footprint();
    const over = await batch(Array.from({ length: Limits.maxBatchJobs + 1 }, (_, i) => job(i)));
    expect(over.status).toBe(400);
    expect(over.body).toMatchObject({ code: 'LIMIT_EXCEEDED', detail: expect.stringContaining('maxBatchJobs') });
    expect((await batch([])).body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'jobs' }] });
    expect(await footprint()).toEqual(before);
  });

  it('refuses a key used twice in one batch and the Idempotency-Key header', async () => {
    const before = await footprint();
    const twice = await batch([job(0, { idempotencyKey: 'k1' }), job(1, { idempotencyKey: 'k2' }), job(2, { idempotencyKey: 'k1' })]);
    expect(twice.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'jobs.2.idempotencyKey' }] });
    const header = await batch([job(0)], { 'idempotency-key': 'batch-key' });
    expect(header.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'Idempotency-Key' }] });
    expect(await footprint()).toEqual(before);
  });

  it('answers jobs whose keys exist with the existing jobs, and creates only the new ones', async () => {
    const first = BatchResult.parse((await batch([job(0, { idempotencyKey: 'b-1' }), job(1, { idempotencyKey: 'b-2' })])).body);
    const [jobs0, , , commands0] = await footprint();
    const res = await batch([job(0, { idempotencyKey: 'b-1' }), job(5, { idempotencyKey: 'b-3' }), job(1, { idempotencyKey: 'b-2' })]);
    const { jobs } = BatchResult.parse(res.body);
    expect(jobs.map((j) => j.created)).toEqual([false, true, false]);
    expect([jobs[0]!.id, jobs[2]!.id]).toEqual(first.jobs.map((j) => j.id));
    const [jobs1, , , commands1] = await footprint();
    expect([jobs1 - jobs0, commands1 - commands0]).toEqual([1, 1]);
  });

  it('refuses the whole batch when a key names a different job', async () => {
    await batch([job(0, { idempotencyKey: 'c-1' })]);
    const before = await footprint();
    const res = await batch([job(7, { idempotencyKey: 'c-2' }), job(8, { idempotencyKey: 'c-1' })]);
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', errors: [{ path: 'jobs.1.idempotencyKey' }] });
    expect(await footprint()).toEqual(before);
  });

  it('creates each key once when batches with the same keys race', async () => {
    const keys = Array.from({ length: 50 }, (_, i) => `race-${i}`);
    const forward = keys.map((k, i) => job(i, { idempotencyKey: k }));
    const answers = await Promise.all([batch(forward), batch([...forward].reverse()), batch(forward)]);
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);
    const { rows } = await t.api.pool.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM runner_jobs WHERE workspace_id = $1 AND idempotency_key LIKE 'race-%'`,
      [ws.id],
    );
    expect(rows[0]!.n).toBe(50);
    const created = answers.flatMap((a) => BatchResult.parse(a.body).jobs.filter((j) => j.created));
    expect(created).toHaveLength(50);
  });
});
