import { beforeAll, describe, expect, it } from 'vitest';
import { EventBatch, Headers, Limits, MetricNames, SubmitCommand, type JobSpecInput } from '@gantry/contracts';
import { JobDetail, JobView } from '../schemas.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';
import { streamMessages } from '../testing/stream-read.js';

const t = useTestApi();
let ws: TestWorkspace;

beforeAll(async () => {
  ws = await t.api.workspace();
});

const spec = (overrides: Partial<JobSpecInput> = {}): JobSpecInput => ({
  type: 'build',
  steps: [
    { name: 'setup', phase: 'SETUP', type: 'NOOP' },
    { name: 'compile', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['make'] } },
    { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
  ],
  ...overrides,
});

const submit = (body: unknown, headers: Record<string, string> = {}) =>
  t.api.call('POST', '/runner-jobs', { token: ws.writer, body, headers });

async function count(sql: string, params: unknown[] = []): Promise<number> {
  const { rows } = await t.api.pool.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${sql}`, params);
  return rows[0]!.n;
}

/** Everything a failed request could have written. */
async function footprint(): Promise<number[]> {
  await t.api.server.deps.announcer.idle(5_000);
  const commands = await t.ns.jsm.streams.info(t.ns.names.streams.commands);
  return [await count('runner_jobs'), await count('job_steps'), await count('job_events'), commands.state.messages];
}

describe('POST /runner-jobs', () => {
  it('stores the job PENDING with its steps and job.created, answers 202 with the job and its Location', async () => {
    const res = await submit(spec({ priority: 70, payload: { ref: 'main' }, agentTaskId: 'task-1' }), { 'x-request-id': 'req-submit-1' });
    expect(res.status).toBe(202);
    expect(res.headers.get('x-request-id')).toBe('req-submit-1');
    const job = JobView.parse(res.body);
    expect(res.headers.get('location')).toBe(`/runner-jobs/${job.id}`);
    expect(job).toMatchObject({ status: 'PENDING', attempt: 0, priority: 70, payload: { ref: 'main' }, agentTaskId: 'task-1', workspaceId: ws.id });
    expect(job.steps.map((s) => [s.ordinal, s.name, s.phase, s.status])).toEqual([
      [0, 'setup', 'SETUP', 'PENDING'],
      [1, 'compile', 'EXECUTION', 'PENDING'],
      [2, 'cleanup', 'CLEANUP', 'PENDING'],
    ]);

    // The answer is exactly what a read of the stored job gives.
    const read = await t.api.call('GET', `/runner-jobs/${job.id}`, { token: ws.reader });
    const { events, ...stored } = JobDetail.parse(read.body);
    expect(stored).toEqual(job);
    expect(events.items.map((e) => [e.sequence, e.type, e.attempt])).toEqual([[1, 'job.created', 0]]);
    expect(events.items[0]!.actor).toMatch(/^api:[0-9a-f-]{36}$/);

    const { rows } = await t.api.pool.query('SELECT status, attempt, workspace_id FROM runner_jobs WHERE id = $1', [job.id]);
    expect(rows).toEqual([{ status: 'PENDING', attempt: 0, workspace_id: ws.id }]);
  });

  it('publishes the submit command (the job’s id, no spec) after the commit, with the job id as Nats-Msg-Id, the request id and the workspace, and fans out job.created', async () => {
    const res = await submit(spec({ type: 'announced' }), { 'x-request-id': 'req-announce' });
    const job = JobView.parse(res.body);
    await t.api.server.deps.announcer.idle(5_000);

    const commands = await streamMessages(t.ns.jsm, t.ns.names.streams.commands, t.ns.names.subjects.command('submit'));
    const mine = commands.filter((m) => m.header(Headers.msgId) === job.id);
    expect(mine).toHaveLength(1);
    expect(mine[0]!.header(Headers.requestId)).toBe('req-announce');
    expect(mine[0]!.header(Headers.workspace)).toBe(ws.id);
    const command = SubmitCommand.parse(mine[0]!.body);
    expect(command).toEqual(expect.objectContaining({ v: 1, kind: 'submit', id: job.id, workspaceId: ws.id, jobs: [{ jobId: job.id }] }));

    const events = await streamMessages(t.ns.jsm, t.ns.names.streams.events, t.ns.names.subjects.events(ws.id, job.id));
    expect(events.map((m) => (EventBatch.parse(m.body) as EventBatch).events.map((e) => e.type))).toEqual([['job.created']]);
  });

  it('counts created jobs by priority, a replay of an idempotent submit not again', async () => {
    await submit(spec({ type: 'metered', priority: 12 }));
    await submit(spec({ type: 'metered', priority: 12, idempotencyKey: 'metered-1' }));
    await submit(spec({ type: 'metered', priority: 12, idempotencyKey: 'metered-1' }));
    const metric = await t.api.server.deps.metrics.registry.getSingleMetric(MetricNames.jobsSubmitted)!.get();
    const value = metric.values.find((v) => v.labels.priority === '12')?.value;
    expect(value).toBe(2);
  });
});

describe('idempotency', () => {
  it('answers a repeated Idempotency-Key header with the original job and creates nothing', async () => {
    const first = await submit(spec(), { 'idempotency-key': 'deploy-42' });
    const before = await footprint();
    const again = await submit(spec(), { 'idempotency-key': 'deploy-42' });
    expect(again.status).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(JobView.parse(again.body)).toEqual(JobView.parse(first.body));
    expect(await footprint()).toEqual(before);
  });

  it('answers the very same request again when its runAt is finer than PostgreSQL keeps (a microsecond)', async () => {
    const runAt = new Date(Date.now() + 3_600_000).toISOString().replace(/\.\d{3}Z$/, '.1239995Z');
    const first = await submit(spec({ runAt }), { 'idempotency-key': 'sub-microsecond' });
    expect(first.status, first.text).toBe(202);
    const again = await submit(spec({ runAt }), { 'idempotency-key': 'sub-microsecond' });
    expect(again.status, again.text).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(JobView.parse(again.body).id).toBe(JobView.parse(first.body).id);
  });

  it('answers a repeated key with the original job after it ran and was queued again with a new run-at (a retry’s backoff)', async () => {
    const first = await submit(spec(), { 'idempotency-key': 'retried-key' });
    const id = JobView.parse(first.body).id;
    // Its first attempt failed; the worker queued the next one after a backoff.
    await t.api.pool.query(`UPDATE runner_jobs SET status = 'QUEUED', attempt = 2, run_at = now() + interval '30 seconds' WHERE id = $1`, [id]);
    const again = await submit(spec(), { 'idempotency-key': 'retried-key' });
    expect(again.status, again.text).toBe(202);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(JobView.parse(again.body)).toMatchObject({ id, status: 'QUEUED', attempt: 2 });
  });

  it('takes the key from the idempotencyKey field as well, and refuses a header that disagrees with it', async () => {
    const first = await submit(spec({ idempotencyKey: 'field-key' }));
    const again = await submit(spec(), { 'idempotency-key': 'field-key' });
    expect((again.body as { id: string }).id).toBe((first.body as { id: string }).id);
    const before = await footprint();
    const clash = await submit(spec({ idempotencyKey: 'one' }), { 'idempotency-key': 'two' });
    expect(clash.status).toBe(400);
    expect(clash.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'idempotencyKey' }] });
    expect(await footprint()).toEqual(before);
  });

  it('refuses a used key with a different job (409) and writes nothing', async () => {
    await submit(spec({ idempotencyKey: 'conflict-key', priority: 10 }));
    const before = await footprint();
    const res = await submit(spec({ idempotencyKey: 'conflict-key', priority: 11 }));
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'IDEMPOTENCY_CONFLICT', errors: [{ path: 'idempotencyKey' }] });
    expect(await footprint()).toEqual(before);
  });

  it('creates exactly one job for concurrent identical requests, and all of them answer it', async () => {
    const before = await count('runner_jobs');
    const answers = await Promise.all(Array.from({ length: 12 }, () => submit(spec(), { 'idempotency-key': 'race-1' })));
    expect(answers.map((a) => a.status)).toEqual(answers.map(() => 202));
    const ids = new Set(answers.map((a) => (a.body as { id: string }).id));
    expect(ids.size).toBe(1);
    expect(answers.filter((a) => a.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(await count('runner_jobs')).toBe(before + 1);
    expect(await count(`job_events WHERE job_id = $1`, [[...ids][0]])).toBe(1);
  });

  it('keeps keys per workspace', async () => {
    const other = await t.api.workspace();
    const a = await submit(spec({ idempotencyKey: 'shared-key' }));
    const b = await t.api.call('POST', '/runner-jobs', { token: other.writer, body: spec({ idempotencyKey: 'shared-key' }) });
    expect(b.status).toBe(202);
    expect((b.body as { id: string }).id).not.toBe((a.body as { id: string }).id);
  });

  it('refuses an Idempotency-Key header over the length limit', async () => {
    const res = await submit(spec(), { 'idempotency-key': 'k'.repeat(Limits.maxNameLength + 1) });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ code: 'LIMIT_EXCEEDED', errors: [{ path: 'Idempotency-Key' }] });
  });
});

describe('bad input gets a problem naming the field and changes nothing', () => {
  const big = (bytes: number) => ({ blob: 'x'.repeat(bytes) });
  const cases: [string, unknown, number, string, string, RegExp?][] = [
    ['an unknown field', { ...spec(), bogus: 1 }, 400, 'VALIDATION_FAILED', 'bogus'],
    ['an unknown field in a step spec', spec({ steps: [{ name: 'a', phase: 'SETUP', type: 'NOOP', spec: { sleep: 1 } }] }), 400, 'VALIDATION_FAILED', 'steps.0.spec.sleep'],
    ['a missing field', { type: 'x' }, 400, 'VALIDATION_FAILED', 'steps'],
    ['a wrong type', spec({ priority: 'high' as never }), 400, 'VALIDATION_FAILED', 'priority'],
    ['too many steps', spec({ steps: Array.from({ length: Limits.maxStepsPerJob + 1 }, (_, i) => ({ name: `s${i}`, phase: 'SETUP', type: 'NOOP' })) }), 400, 'LIMIT_EXCEEDED', 'steps', /100/],
    ['a payload over its size', spec({ payload: big(Limits.maxPayloadBytes) }), 400, 'LIMIT_EXCEEDED', 'payload', /262144/],
    ['a type over its length', spec({ type: 't'.repeat(Limits.maxNameLength + 1) }), 400, 'LIMIT_EXCEEDED', 'type', /200/],
    ['a priority over the range', spec({ priority: 101 }), 400, 'LIMIT_EXCEEDED', 'priority', /100/],
    [
      'a job larger than a submit command',
      spec({ payload: big(200_000), steps: Array.from({ length: 6 }, (_, i) => ({ name: `s${i}`, phase: 'SETUP', type: 'CUSTOM', spec: big(60_000) })) }),
      400,
      'LIMIT_EXCEEDED',
      '',
      /maxCommandBytes/,
    ],
  ];
  it.each(cases)('%s', async (_name, body, status, code, path, message) => {
    const before = await footprint();
    const res = await submit(body);
    expect(res.status).toBe(status);
    expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    const problem = res.body as { code: string; detail: string; errors: { path: string }[]; requestId: string; instance: string };
    expect(problem.code).toBe(code);
    expect(problem.errors.map((e) => e.path)).toContain(path);
    expect(problem.requestId).toBe(res.headers.get('x-request-id'));
    expect(problem.instance).toBe('/runner-jobs');
    if (message) expect(problem.detail).toMatch(message);
    expect(await footprint()).toEqual(before);
  });

  it('answers a value PostgreSQL cannot store (a NUL, an unpaired surrogate, the year 0, an offset past 15:59) with 400 naming the field, and changes nothing', async () => {
    const cases: [unknown, string][] = [
      [spec({ type: 'a\u0000b' }), 'type'],
      [spec({ payload: { note: 'x\ud800' } }), 'payload.note'],
      [spec({ runAt: '0000-01-01T00:00:00Z' }), 'runAt'],
      [spec({ runAt: '2030-01-01T00:00:00+23:59' }), 'runAt'],
    ];
    for (const [body, path] of cases) {
      const before = await footprint();
      const res = await submit(body);
      expect(res.status).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [expect.objectContaining({ path })] });
      expect(await footprint()).toEqual(before);
    }
  });

  it('answers JSON nested past maxJsonDepth inside a payload or a step spec with 400 LIMIT_EXCEEDED, and changes nothing', async () => {
    // 10,000 levels in 20 KB, far below every size limit: deep enough to exhaust a recursive check.
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const steps = JSON.stringify([{ name: 'a', phase: 'EXECUTION', type: 'NOOP' }]);
    for (const [path, body] of [
      ['/runner-jobs', `{"type":"t","steps":${steps},"payload":{"a":${deep}}}`],
      ['/runner-jobs/batch', `{"jobs":[{"type":"t","steps":${steps},"payload":{"a":${deep}}}]}`],
      ['/runner-jobs', `{"type":"t","steps":[{"name":"a","phase":"EXECUTION","type":"CUSTOM_X","spec":{"a":${deep}}}]}`],
    ] as const) {
      const before = await footprint();
      const res = await t.api.call('POST', path, { token: ws.writer, body });
      expect(res.status, res.text).toBe(400);
      expect(res.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(res.body).toMatchObject({ code: 'LIMIT_EXCEEDED' });
      expect(await footprint()).toEqual(before);
    }
  });

  it('answers a body over the request limit with 413', async () => {
    const before = await footprint();
    const res = await submit(JSON.stringify(spec({ payload: big(Limits.maxRequestBytes) })));
    expect(res.status).toBe(413);
    expect(res.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', detail: expect.stringContaining(String(Limits.maxRequestBytes)) });
    expect(await footprint()).toEqual(before);
  });

  it('answers malformed JSON, a poisoned prototype, an empty body and a non-JSON body', async () => {
    const before = await footprint();
    expect((await submit('{"type": "x",')).body).toMatchObject({ status: 400, code: 'MALFORMED_JSON' });
    expect((await submit('{"__proto__": {"admin": true}, "type": "x"}')).body).toMatchObject({ code: 'MALFORMED_JSON' });
    expect((await submit('', { 'content-type': 'application/json' })).body).toMatchObject({ code: 'VALIDATION_FAILED' });
    const text = await submit('type=x', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);
    expect(text.body).toMatchObject({ code: 'UNSUPPORTED_MEDIA_TYPE' });
    expect(await footprint()).toEqual(before);
  });
});

// A runAt was checked by the year as written, not by its moment (a runAt in the year 10000 was
// stored and answered in a form no RFC 3339 parser, the API's own schemas included, takes), not
// against Limits.maxDelayMs, and the submit's answer showed it cut to the millisecond where the
// stored job's was rounded.
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
