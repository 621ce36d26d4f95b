import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Msg, Subscription } from '@nats-io/transport-node';
import { CancelSignal, EventBatch, Headers, type JobSpecInput } from '@gantry/contracts';
import { BatchResult, BulkCancelResult, JobView } from '../schemas.js';
import { complete, gatedSpec, park, queue, start, TEST_WORKER_ID } from '../testing/fixtures.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';
import { streamMessages } from '../testing/stream-read.js';

const t = useTestApi();
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

const spec = (overrides: Partial<JobSpecInput> = {}): JobSpecInput => ({
  type: 'cancel-test',
  steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }],
  ...overrides,
});

async function submit(jobs: JobSpecInput[], token = ws.writer): Promise<string[]> {
  const res = await t.api.call('POST', '/runner-jobs/batch', { token, body: { jobs } });
  return BatchResult.parse(res.body).jobs.map((j) => j.id);
}

async function eventsOf(jobId: string): Promise<{ type: string; actor: string; stepId: string | null; payload: Record<string, unknown> }[]> {
  const { rows } = await t.api.pool.query('SELECT type, actor, step_id AS "stepId", payload FROM job_events WHERE job_id = $1 ORDER BY sequence', [jobId]);
  return rows;
}

/** Collects the messages on the cancel subject of the fixtures' worker. */
function listenForCancels(): { sub: Subscription; next(): Promise<Msg> } {
  const sub = t.ns.nc.subscribe(t.ns.names.subjects.cancel(TEST_WORKER_ID));
  const iterator = sub[Symbol.asyncIterator]();
  return { sub, next: async () => (await iterator.next()).value as Msg };
}

describe('POST /runner-jobs/:id/cancel', () => {
  it.each([
    ['PENDING', async (_id: string) => {}],
    ['QUEUED', async (id: string) => void (await t.writer.write(queue(id)))],
  ])('ends a %s job CANCELLED at once (200) with job.cancelled, published on the events stream', async (from, setup) => {
    const [id] = await submit([spec()]);
    await setup(id!);
    const res = await t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer, body: { reason: 'not needed' } });
    expect(res.status).toBe(200);
    const job = JobView.parse(res.body);
    expect(job.status).toBe('CANCELLED');
    expect(job.completedAt).not.toBeNull();
    const last = (await eventsOf(id!)).at(-1)!;
    expect(last).toMatchObject({ type: 'job.cancelled', payload: { reason: 'not needed', from } });
    expect(last.actor).toMatch(/^api:/);
    await t.api.server.deps.announcer.idle(5_000);
    const published = await streamMessages(t.ns.jsm, t.ns.names.streams.events, t.ns.names.subjects.events(ws.id, id!));
    const types = published.flatMap((m) => (EventBatch.parse(m.body) as EventBatch).events.map((e) => e.type));
    expect(types.at(-1)).toBe('job.cancelled');
  });

  it('ends a job WAITING on an approval gate CANCELLED at once', async () => {
    const [id] = await submit([gatedSpec()]);
    const gate = (await t.api.pool.query('SELECT id FROM job_steps WHERE job_id = $1 AND ordinal = 1', [id])).rows[0].id;
    await t.writer.write(queue(id!));
    await t.writer.write(start(id!));
    await t.writer.write(park(id!, gate));
    // The id in upper case: the same job, answered with its steps.
    const res = await t.api.call('POST', `/runner-jobs/${id!.toUpperCase()}/cancel`, { token: ws.writer });
    expect([res.status, (res.body as { status: string }).status]).toEqual([200, 'CANCELLED']);
    expect(JobView.parse(res.body).steps.map((s) => [s.name, s.status])).toEqual([['build', 'PENDING'], ['approve', 'SKIPPED'], ['cleanup', 'PENDING']]);
    // The gate nobody will decide is skipped in the same write, and job.cancelled stays the last event.
    expect((await eventsOf(id!)).slice(-2)).toMatchObject([
      { type: 'step.skipped', stepId: gate, payload: { reason: 'the job was cancelled' } },
      { type: 'job.cancelled', payload: { reason: null, from: 'WAITING' } },
    ]);
  });

  it('asks the worker holding a RUNNING job to stop (202): cancel_requested_at, job.cancel_requested, a CancelSignal', async () => {
    const [id] = await submit([spec()]);
    await t.writer.write(queue(id!));
    await t.writer.write(start(id!));
    const cancels = listenForCancels();
    try {
      await t.ns.nc.flush();
      const res = await t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer, body: { reason: 'stop' }, headers: { 'x-request-id': 'req-cancel' } });
      expect(res.status).toBe(202);
      const job = JobView.parse(res.body);
      expect(job.status).toBe('RUNNING');
      expect(job.cancelRequestedAt).not.toBeNull();
      const signal = await cancels.next();
      expect(CancelSignal.parse(signal.json())).toEqual({ v: 1, jobId: id, attempt: 1, reason: 'cancelled' });
      expect(signal.headers?.get(Headers.requestId)).toBe('req-cancel');
      expect((await eventsOf(id!)).at(-1)).toMatchObject({ type: 'job.cancel_requested', payload: { reason: 'stop' } });

      // Asking again re-sends the signal and records nothing new.
      const again = await t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer });
      expect(again.status).toBe(202);
      expect(CancelSignal.parse((await cancels.next()).json()).jobId).toBe(id);
      expect((await eventsOf(id!)).filter((e) => e.type === 'job.cancel_requested')).toHaveLength(1);
    } finally {
      cancels.sub.unsubscribe();
    }
  });

  it('records a RUNNING job’s cancel once when another cancel commits between its read and its write', async () => {
    const [id] = await submit([spec()]);
    await t.writer.write(queue(id!));
    await t.writer.write(start(id!));
    // Another cancel of the running attempt (the scheduler's, over NATS), held uncommitted.
    const other = await t.api.pool.connect();
    const cancels = listenForCancels();
    try {
      await t.ns.nc.flush();
      await other.query('BEGIN');
      await other.query('UPDATE runner_jobs SET cancel_requested_at = now() WHERE id = $1', [id]);
      await other.query(
        `INSERT INTO job_events (job_id, sequence, id, workspace_id, type, actor, attempt, payload)
         VALUES ($1, (SELECT max(sequence) + 1 FROM job_events WHERE job_id = $1), $2, $3, 'job.cancel_requested', 'scheduler', 1, '{"reason":"first"}')`,
        [id, randomUUID(), ws.id],
      );
      const cancel = t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer, body: { reason: 'second' } });
      // Wait until the API's write waits on the job's row lock (its read saw no request).
      let waiting = false;
      for (let i = 0; i < 100 && !waiting; i++) {
        const { rows } = await t.api.pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        waiting = rows[0].n > 0;
        if (!waiting) await new Promise((r) => setTimeout(r, 50));
      }
      expect(waiting).toBe(true);
      await other.query('COMMIT');
      const res = await cancel;
      expect(res.status).toBe(202);
      expect(CancelSignal.parse((await cancels.next()).json())).toEqual({ v: 1, jobId: id, attempt: 1, reason: 'cancelled' });
      const requests = (await eventsOf(id!)).filter((e) => e.type === 'job.cancel_requested');
      expect(requests.map((e) => e.payload)).toEqual([{ reason: 'first' }]);
    } finally {
      cancels.sub.unsubscribe();
      other.release();
    }
  });

  it('refuses a finished job (409) and changes nothing', async () => {
    const [done, cancelled] = await submit([spec(), spec()]);
    await t.writer.write(queue(done!));
    await t.writer.write(start(done!));
    await t.writer.write(complete(done!));
    await t.api.call('POST', `/runner-jobs/${cancelled}/cancel`, { token: ws.writer });
    for (const id of [done!, cancelled!]) {
      const before = await eventsOf(id);
      const res = await t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer });
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'INVALID_TRANSITION', detail: expect.stringMatching(/COMPLETED|CANCELLED/) });
      expect(await eventsOf(id)).toEqual(before);
    }
  });

  it('refuses an unknown field in the body and a reader token', async () => {
    const [id] = await submit([spec()]);
    const bad = await t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer, body: { reason: 'x', force: true } });
    expect(bad.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ path: 'force' }] });
    const reader = await t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.reader });
    expect(reader.body).toMatchObject({ status: 403, code: 'FORBIDDEN' });
    expect((await t.api.pool.query('SELECT status FROM runner_jobs WHERE id = $1', [id])).rows[0].status).toBe('PENDING');
  });
});

describe('POST /runner-jobs/cancel', () => {
  it('cancels the active jobs a filter selects, a page at a time, and answers how many', async () => {
    const other = await t.api.workspace();
    const many = await submit(Array.from({ length: 700 }, () => spec({ type: 'bulk' })));
    many.push(...(await submit(Array.from({ length: 700 }, () => spec({ type: 'bulk' })))));
    const [running, finished] = many.slice(-2);
    for (const id of [running!, finished!]) {
      await t.writer.write(queue(id));
      await t.writer.write(start(id));
    }
    await t.writer.write(complete(finished!));
    const keep = await submit([spec({ type: 'keep' })]);
    const foreign = await submit([spec({ type: 'bulk' })], other.writer);

    const cancels = t.ns.nc.subscribe(t.ns.names.subjects.cancel(TEST_WORKER_ID), { max: 1 });
    const res = await t.api.call('POST', '/runner-jobs/cancel', { token: ws.admin, body: { type: 'bulk', reason: 'cleanup' } });
    expect(res.status, res.text).toBe(200);
    expect(BulkCancelResult.parse(res.body)).toEqual({ matched: 1399, cancelled: 1398, cancelRequested: 1 });
    for await (const m of cancels) expect(CancelSignal.parse(m.json()).jobId).toBe(running);

    const { rows } = await t.api.pool.query<{ status: string; n: number }>(
      `SELECT status, count(*)::int AS n FROM runner_jobs WHERE id = ANY($1::uuid[]) GROUP BY status ORDER BY status`,
      [[...many, ...keep, ...foreign]],
    );
    expect(rows).toEqual([
      { status: 'CANCELLED', n: 1398 },
      { status: 'COMPLETED', n: 1 },
      { status: 'PENDING', n: 2 },
      { status: 'RUNNING', n: 1 },
    ]);
    const events = await t.api.pool.query(`SELECT count(*)::int AS n FROM job_events WHERE type = 'job.cancelled' AND payload->>'reason' = 'cleanup'`);
    expect(events.rows[0].n).toBe(1398);
  });

  it('narrows by status, needs jobs:admin and at least one criterion', async () => {
    const [pending, queued] = await submit([spec({ type: 'narrow' }), spec({ type: 'narrow' })]);
    await t.writer.write(queue(queued!));
    const res = await t.api.call('POST', '/runner-jobs/cancel', { token: ws.admin, body: { type: 'narrow', status: ['QUEUED'] } });
    expect(res.body).toEqual({ matched: 1, cancelled: 1, cancelRequested: 0 });
    expect((await t.api.pool.query('SELECT status FROM runner_jobs WHERE id = $1', [pending])).rows[0].status).toBe('PENDING');

    expect((await t.api.call('POST', '/runner-jobs/cancel', { token: ws.writer, body: { type: 'narrow' } })).body).toMatchObject({ status: 403 });
    expect((await t.api.call('POST', '/runner-jobs/cancel', { token: ws.admin, body: { reason: 'all' } })).body).toMatchObject({
      status: 400,
      code: 'VALIDATION_FAILED',
    });
    expect((await t.api.call('POST', '/runner-jobs/cancel', { token: ws.admin, body: { status: ['COMPLETED'] } })).body).toMatchObject({
      errors: [{ path: 'status.0' }],
    });
    expect((await t.api.pool.query('SELECT status FROM runner_jobs WHERE id = $1', [pending])).rows[0].status).toBe('PENDING');
  });

  it('skips the gate of each WAITING job it cancels', async () => {
    const ids = await submit([gatedSpec({ type: 'gated-bulk' }), gatedSpec({ type: 'gated-bulk' })]);
    for (const id of ids) {
      const gate = (await t.api.pool.query('SELECT id FROM job_steps WHERE job_id = $1 AND ordinal = 1', [id])).rows[0].id;
      await t.writer.write(queue(id));
      await t.writer.write(start(id));
      await t.writer.write(park(id, gate));
    }
    const res = await t.api.call('POST', '/runner-jobs/cancel', { token: ws.admin, body: { type: 'gated-bulk' } });
    expect(res.body).toEqual({ matched: 2, cancelled: 2, cancelRequested: 0 });
    const { rows } = await t.api.pool.query<{ status: string; n: number }>(
      'SELECT status, count(*)::int AS n FROM job_steps WHERE job_id = ANY($1::uuid[]) GROUP BY status ORDER BY status',
      [ids],
    );
    expect(rows).toEqual([{ status: 'PENDING', n: 4 }, { status: 'SKIPPED', n: 2 }]);
    for (const id of ids) expect((await eventsOf(id)).slice(-2).map((e) => e.type)).toEqual(['step.skipped', 'job.cancelled']);
  });

  it('cancels a matching job that the scheduler queues between the bulk cancel’s read and its write', async () => {
    const res = await t.api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [{ type: 'bulk-race', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] }] } });
    const id = BatchResult.parse(res.body).jobs[0]!.id;

    // The scheduler's move 2 (PENDING → QUEUED, attempt 1, job.queued), held uncommitted.
    const sched = await t.api.pool.connect();
    try {
      await sched.query('BEGIN');
      await sched.query(`UPDATE runner_jobs SET status = 'QUEUED', attempt = 1, queued_at = now() WHERE id = $1`, [id]);
      await sched.query(
        `INSERT INTO job_events (job_id, sequence, id, workspace_id, type, actor, attempt, payload)
         VALUES ($1, 2, $2, $3, 'job.queued', 'scheduler', 1, '{"attempt":1,"reason":"submitted","runAt":null}')`,
        [id, randomUUID(), ws.id],
      );
      const bulk = t.api.call('POST', '/runner-jobs/cancel', { token: ws.admin, body: { type: 'bulk-race' } });
      // Wait until the bulk cancel's write waits on the job's row lock (its read saw PENDING).
      for (let i = 0; i < 100; i++) {
        const { rows } = await t.api.pool.query(
          `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()`,
        );
        if (rows[0].n > 0) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await sched.query('COMMIT');
      const answer = await bulk;
      expect(answer.status).toBe(200);
      const { rows } = await t.api.pool.query('SELECT status, cancel_requested_at FROM runner_jobs WHERE id = $1', [id]);
      // The job matched the filter and was active throughout: it must end CANCELLED.
      expect({ answer: answer.body, status: rows[0].status }).toEqual({
        answer: { matched: 1, cancelled: 1, cancelRequested: 0 },
        status: 'CANCELLED',
      });
    } finally {
      sched.release();
    }
  });
});

describe('the API’s JobWriter', () => {
  it('records its group commits in the write metrics, as every service does', async () => {
    const scrape = async () => (await t.api.call('GET', '/metrics')).text;
    const eventsWritten = (text: string) => Number(/^gantry_events_written_total (\d+)$/m.exec(text)?.[1] ?? NaN);
    const before = eventsWritten(await scrape());
    const [id] = await submit([spec({ type: 'write-metrics' })]);
    expect((await t.api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer })).status).toBe(200);
    const text = await scrape();
    // The cancel's one event was committed, and answered, before the response.
    expect(eventsWritten(text)).toBeGreaterThanOrEqual(before + 1);
    expect(text).toMatch(/^gantry_write_batch_size_count [1-9]\d*$/m);
    expect(text).toMatch(/^gantry_write_flush_duration_seconds_count [1-9]\d*$/m);
    expect(text).toMatch(/^gantry_write_errors_total 0$/m);
  });
});
