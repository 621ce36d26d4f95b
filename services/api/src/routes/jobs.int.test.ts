import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import type { JobSpecInput } from '@gantry/contracts';
import { BatchResult, EventPage, JobDetail, JobPage, StepList, type JobSummary } from '../schemas.js';
import { gatedSpec, progress, queue, start } from '../testing/fixtures.js';
import type { TestWorkspace } from '../testing/harness.js';
import { useTestApi } from '../testing/use-test-api.js';

const t = useTestApi();
let ws: TestWorkspace;
let other: TestWorkspace;

beforeAll(async () => {
  [ws, other] = await Promise.all([t.api.workspace(), t.api.workspace()]);
});

const spec = (overrides: Partial<JobSpecInput> = {}): JobSpecInput => ({
  type: 'list-test',
  steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }],
  ...overrides,
});

async function submitBatch(token: string, jobs: JobSpecInput[]): Promise<string[]> {
  const res = await t.api.call('POST', '/runner-jobs/batch', { token, body: { jobs } });
  expect(res.status).toBe(202);
  return BatchResult.parse(res.body).jobs.map((j) => j.id);
}

async function list(query: string, token = ws.reader): Promise<{ items: JobSummary[]; nextCursor: string | null }> {
  const res = await t.api.call('GET', `/runner-jobs${query}`, { token });
  expect(res.status, res.text).toBe(200);
  return JobPage.parse(res.body);
}

/** Follows cursors from `query` to the end; returns every id in order. */
async function listAll(query: string): Promise<string[]> {
  const ids: string[] = [];
  let page = await list(query);
  for (;;) {
    ids.push(...page.items.map((j) => j.id));
    if (page.nextCursor === null) return ids;
    page = await list(`${query}${query.includes('?') ? '&' : '?'}cursor=${encodeURIComponent(page.nextCursor)}`);
  }
}

describe('GET /runner-jobs', () => {
  let early: string[];
  let late: string[];
  let lateCreatedAt: string;

  beforeAll(async () => {
    early = await submitBatch(ws.writer, [
      spec({ type: 'build', priority: 10, agentTaskId: 'task-a' }),
      spec({ type: 'build', priority: 90 }),
      spec({ type: 'test', priority: 50, agentTaskId: 'task-a' }),
      spec({ type: 'deploy', priority: 70 }),
    ]);
    late = await submitBatch(ws.writer, [spec({ type: 'build', priority: 50 }), spec({ type: 'test', priority: 90 })]);
    await submitBatch(other.writer, [spec({ type: 'build' })]);
    await t.writer.write(queue(early[1]!));
    await t.writer.write(queue(early[3]!));
    await t.writer.write(start(early[3]!));
    lateCreatedAt = (await list('?limit=1')).items[0]!.createdAt;
  });

  it('lists only the caller’s jobs, newest first, without payloads', async () => {
    const page = await list('');
    expect(page.items.map((j) => j.id)).toEqual([...[...late].reverse(), ...[...early].reverse()]);
    expect(page.items.every((j) => j.workspaceId === ws.id && !('payload' in j))).toBe(true);
    expect(page.nextCursor).toBeNull();
  });

  it('filters by status (comma-separated or repeated), type, agent task, priority range and creation time', async () => {
    const ids = async (q: string) => (await list(q)).items.map((j) => j.id).sort();
    expect(await ids('?status=QUEUED,RUNNING')).toEqual([early[1], early[3]].sort());
    expect(await ids('?status=QUEUED&status=RUNNING')).toEqual([early[1], early[3]].sort());
    expect(await ids('?type=build')).toEqual([early[0], early[1], late[0]].sort());
    expect(await ids('?agentTaskId=task-a')).toEqual([early[0], early[2]].sort());
    expect(await ids('?priorityMin=50&priorityMax=70')).toEqual([early[2], early[3], late[0]].sort());
    expect(await ids('?type=build&status=PENDING')).toEqual([early[0], late[0]].sort());
    const at = encodeURIComponent(lateCreatedAt);
    expect(await ids(`?createdBefore=${at}`)).toEqual([...early].sort());
    const firstEarly = (await list(`?createdBefore=${at}&sort=createdAt&limit=1`)).items[0]!.createdAt;
    expect(await ids(`?createdAfter=${encodeURIComponent(firstEarly)}`)).toEqual([...late].sort());
  });

  it('sorts by creation or priority, ties broken the same way every time', async () => {
    expect(await listAll('?sort=createdAt')).toEqual([...early, ...late]);
    const byPriority = (await list('?sort=-priority')).items.map((j) => j.priority);
    expect(byPriority).toEqual([...byPriority].sort((a, b) => b - a));
    const ascending = await listAll('?sort=priority&limit=2');
    expect(ascending).toEqual((await list('?sort=priority')).items.map((j) => j.id));
    expect(ascending).toHaveLength(6);
  });

  it('pages with a cursor that no insert can shift', async () => {
    const all = await listAll('');
    const first = await list('?limit=4');
    expect(first.items.map((j) => j.id)).toEqual(all.slice(0, 4));
    // Jobs arriving between pages are newer than the cursor: the next page goes on where the first ended.
    await submitBatch(ws.writer, [spec(), spec(), spec()]);
    const second = await list(`?limit=4&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second.items.map((j) => j.id)).toEqual(all.slice(4));
    expect(second.nextCursor).toBeNull();
  });

  it('refuses bad queries with the offending parameter', async () => {
    const problem = async (q: string) => (await t.api.call('GET', `/runner-jobs${q}`, { token: ws.reader })).body;
    expect(await problem('?limit=501')).toMatchObject({ status: 400, code: 'LIMIT_EXCEEDED', errors: [{ path: 'limit' }] });
    expect(await problem('?limit=0')).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'limit' }] });
    expect(await problem('?limit=ten')).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'limit' }] });
    expect(await problem('?status=DONE')).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'status.0' }] });
    expect(await problem('?createdAfter=yesterday')).toMatchObject({ errors: [{ path: 'createdAfter' }] });
    expect(await problem('?color=red')).toMatchObject({ errors: [{ path: 'color', message: 'unknown field' }] });
    expect(await problem('?cursor=not-a-cursor')).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'cursor' }] });
    const cursor = (await list('?limit=1')).nextCursor!;
    expect(await problem(`?sort=priority&cursor=${encodeURIComponent(cursor)}`)).toMatchObject({ errors: [{ path: 'cursor' }] });
  });
});

describe('one job', () => {
  let jobId: string;

  beforeAll(async () => {
    jobId = (await submitBatch(ws.writer, [gatedSpec()]))[0]!;
    await t.writer.write(queue(jobId!));
    await t.writer.write(start(jobId!));
    // 510 progress events in one commit: more than a page.
    await t.writer.write({ ...progress(jobId!, 1), events: Array.from({ length: 510 }, (_, i) => progress(jobId!, i % 100).events[0]!) });
  });

  it('GET /runner-jobs/:id answers the job with its steps and its first page of events', async () => {
    const res = await t.api.call('GET', `/runner-jobs/${jobId}`, { token: ws.reader });
    const job = JobDetail.parse(res.body);
    expect(job).toMatchObject({ id: jobId, status: 'RUNNING', attempt: 1, workerId: 'worker-test-1' });
    expect(job.steps.map((s) => s.name)).toEqual(['build', 'approve', 'cleanup']);
    expect(job.events.items.map((e) => e.sequence)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(job.events.items.slice(0, 3).map((e) => e.type)).toEqual(['job.created', 'job.queued', 'job.started']);
    expect(job.events.nextAfter).toBe(50);
  });

  it('GET /runner-jobs/:ID, the id in upper case, answers the same job with its steps', async () => {
    const res = await t.api.call('GET', `/runner-jobs/${jobId.toUpperCase()}`, { token: ws.reader });
    const job = JobDetail.parse(res.body);
    expect(job.id).toBe(jobId);
    expect(job.steps.map((s) => s.name)).toEqual(['build', 'approve', 'cleanup']);
  });

  it('GET …/steps answers the steps in run order', async () => {
    const res = await t.api.call('GET', `/runner-jobs/${jobId}/steps`, { token: ws.reader });
    const { items } = StepList.parse(res.body);
    expect(items.map((s) => [s.ordinal, s.name, s.type, s.spec])).toEqual([
      [0, 'build', 'NOOP', {}],
      [1, 'approve', 'GATE', { kind: 'approval', prompt: 'ship it?' }],
      [2, 'cleanup', 'NOOP', {}],
    ]);
  });

  it('GET …/events pages after a sequence', async () => {
    const page = async (q: string) => EventPage.parse((await t.api.call('GET', `/runner-jobs/${jobId}/events${q}`, { token: ws.reader })).body);
    const first = await page('?limit=2');
    expect([first.items.map((e) => e.sequence), first.nextAfter]).toEqual([[1, 2], 2]);
    const next = await page(`?after=${first.nextAfter}&limit=2`);
    expect(next.items.map((e) => e.sequence)).toEqual([3, 4]);
    const tail = await page('?after=500&limit=500');
    expect([tail.items.map((e) => e.sequence), tail.nextAfter]).toEqual([Array.from({ length: 13 }, (_, i) => 501 + i), null]);
    expect((await page('?after=513')).items).toEqual([]);
    const bad = await t.api.call('GET', `/runner-jobs/${jobId}/events?after=-1`, { token: ws.reader });
    expect(bad.body).toMatchObject({ code: 'VALIDATION_FAILED', errors: [{ path: 'after' }] });
  });
});

describe('a job of another workspace', () => {
  it('is not found through any route that takes an id, exactly like one that does not exist', async () => {
    const [foreign] = await submitBatch(other.writer, [gatedSpec()]);
    const { rows } = await t.api.pool.query<{ id: string }>('SELECT id FROM job_steps WHERE job_id = $1 AND ordinal = 1', [foreign]);
    const step = rows[0]!.id;
    const before = await t.api.pool.query('SELECT status, version FROM runner_jobs WHERE id = $1', [foreign]);
    const routes: [string, string][] = [
      ['GET', `/runner-jobs/${foreign}`],
      ['GET', `/runner-jobs/${foreign}/steps`],
      ['GET', `/runner-jobs/${foreign}/events`],
      ['GET', `/runner-jobs/${foreign}/events/stream`],
      ['POST', `/runner-jobs/${foreign}/cancel`],
      ['POST', `/runner-jobs/${foreign}/retry`],
      ['POST', `/runner-jobs/${foreign}/steps/${step}/approve`],
      ['POST', `/runner-jobs/${foreign}/steps/${step}/reject`],
    ];
    for (const [method, path] of routes) {
      for (const target of [path, path.replace(foreign!, randomUUID()), path.replace(foreign!, 'not-a-uuid')]) {
        const res = await t.api.call(method, target, { token: ws.admin });
        expect([method, target, res.status], res.text).toEqual([method, target, 404]);
        expect(res.body).toMatchObject({ code: 'NOT_FOUND' });
        expect(res.text).not.toContain(other.id);
      }
    }
    expect((await t.api.pool.query('SELECT status, version FROM runner_jobs WHERE id = $1', [foreign])).rows).toEqual(before.rows);
  });
});

describe('createdAfter given finer than a millisecond', () => {
  it('keeps a job shown after it, and leaves out one shown as its millisecond', async () => {
    const own = await t.api.workspace();
    const [id] = await submitBatch(own.writer, [{ type: 'fine', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] }]);
    await t.api.pool.query(`UPDATE runner_jobs SET created_at = '2030-01-01T00:00:00.0012Z' WHERE id = $1`, [id]);
    const after = async (instant: string) => (await list(`?createdAfter=${encodeURIComponent(instant)}`, own.reader)).items.map((j) => j.id);
    // Shown as …00.001Z: after …00.0005Z, not after …00.001Z (nor …00.0019Z, the same millisecond).
    expect(await after('2030-01-01T00:00:00.0005Z')).toEqual([id]);
    expect(await after('2030-01-01T00:00:00.001Z')).toEqual([]);
    expect(await after('2030-01-01T00:00:00.0019Z')).toEqual([]);
  });
});
