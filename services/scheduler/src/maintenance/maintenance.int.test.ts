import { beforeAll, describe, expect, it } from 'vitest';
import { CancelSignal, MetricNames, retryDelayMs } from '@gantry/contracts';
import { JobWriter } from '@gantry/store';
import { createJobs, createWorkspace, jobSpec, planNodes, planOf } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { FakeWorker, ownPool, waitFor } from '../testing/harness.js';
import { attemptFailed, ORPHAN_COLUMNS, type OrphanedJob } from './duty.js';
import { GATES_OVERDUE_SQL } from './timeouts.js';

const h = useScheduler({ workerLostMs: 1_000, timeoutGraceMs: 400, pendingGraceMs: 300 });
let ws: string;

beforeAll(async () => {
  ws = await createWorkspace(h.pool);
});

async function job(id: string) {
  const { rows } = await h.pool.query(
    'SELECT status, attempt, failures, worker_id, run_at, error FROM runner_jobs WHERE id = $1',
    [id],
  );
  return rows[0];
}

async function events(id: string) {
  const { rows } = await h.pool.query('SELECT type, attempt, payload FROM job_events WHERE job_id = $1 ORDER BY sequence', [id]);
  return rows;
}

describe('lost workers', () => {
  it('queue a silent worker’s jobs again as the next attempt, and fence its late result', async () => {
    const jobs = await createJobs(h.pool, ws, 2);
    const doomed = new FakeWorker(h.ns, h.pool, 2);
    doomed.start();
    await waitFor(async () => (await job(jobs[1]!.id)).status === 'RUNNING' && (await job(jobs[0]!.id)).status === 'RUNNING');
    await doomed.stop();
    // Each job is judged on its own start time: wait for both.
    await waitFor(
      async () => (await job(jobs[0]!.id)).attempt === 2 && (await job(jobs[1]!.id)).attempt === 2,
      15_000,
      'requeue after the worker is lost',
    );

    for (const j of jobs) {
      const row = await job(j.id);
      expect(row).toMatchObject({ attempt: 2, failures: 1 });
      const last = (await events(j.id)).find((e) => e.type === 'job.queued' && e.attempt === 2);
      expect(last.payload).toMatchObject({ reason: 'worker_lost', error: { code: 'WORKER_LOST' } });
    }
    // The lost worker comes back with a result for attempt 1: refused.
    const late = new JobWriter({ pool: h.pool });
    const result = await late.write({
      jobId: jobs[0]!.id,
      attempt: 1,
      expect: ['RUNNING'],
      to: 'COMPLETED',
      events: [{ type: 'job.completed', actor: 'worker:late', payload: { durationMs: 1, result: null } }],
    });
    await late.stop();
    expect(result.applied).toBe(false);

    const rescuer = new FakeWorker(h.ns, h.pool, 2, { finish: true });
    rescuer.start();
    await waitFor(async () => (await job(jobs[0]!.id)).status === 'COMPLETED' && (await job(jobs[1]!.id)).status === 'COMPLETED');
    await rescuer.stop();
    expect(rescuer.dispatches.map((d) => d.attempt)).toEqual([2, 2]);
  });
});

describe('jobs a live worker no longer holds', () => {
  it('are queued again once its beats have not listed them for WORKER_LOST_MS, and those it lists are left alone', async () => {
    const pool = await ownPool(h.ns, 'dropped');
    // A live worker of its own pool, with one slot: it claims one job and holds it, listed in its beats.
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool });
    worker.start();
    const [held, dropped] = await createJobs(h.pool, ws, 2, { spec: jobSpec({ pool, maxAttempts: 3 }) });
    try {
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'one dispatch');
      const heldId = worker.dispatches[0]!.jobId;
      const droppedId = heldId === held!.id ? dropped!.id : held!.id;
      // Claimed, and listed in a beat the leader heard (this fake lists a job from its claim on; a
      // worker lists it from the dispatch's arrival, before its claim).
      const listed = () => h.scheduler.workers.live().some((w) => w.workerId === worker.workerId && w.jobs.some((j) => j.jobId === heldId));
      await waitFor(async () => (await job(heldId)).status === 'RUNNING' && listed(), 10_000, 'the held job claimed and listed');
      // The other job is RUNNING on the same live worker without it holding it: the worker gave the
      // attempt up, say, or restarted under the same id. Both started long ago.
      await h.pool.query(
        `UPDATE runner_jobs SET status = 'RUNNING', worker_id = $2, started_at = now() - interval '5 seconds', dispatched_at = now() - interval '5 seconds' WHERE id = $1`,
        [droppedId, worker.workerId],
      );
      await h.pool.query(`UPDATE runner_jobs SET started_at = now() - interval '5 seconds' WHERE id = $1`, [heldId]);
      await waitFor(async () => (await job(droppedId)).attempt === 2, 10_000, 'the dropped job queued again');
      const queued = (await events(droppedId)).find((e) => e.type === 'job.queued' && e.attempt === 2);
      expect(queued.payload).toMatchObject({ reason: 'worker_lost', error: { code: 'WORKER_LOST', message: expect.stringContaining('no longer holds') } });
      // Several more passes of the duty: the job the worker holds stays its own.
      await new Promise((r) => setTimeout(r, 2_500));
      expect(await job(heldId)).toMatchObject({ status: 'RUNNING', attempt: 1, worker_id: worker.workerId });
    } finally {
      await worker.stop();
    }
  });
});

describe('a pending cancel', () => {
  it('ends a lost worker’s job CANCELLED, with the cancel’s reason, rather than running it again', async () => {
    const [target] = await createJobs(h.pool, ws, 1);
    const doomed = new FakeWorker(h.ns, h.pool, 1);
    doomed.start();
    await waitFor(async () => (await job(target!.id)).status === 'RUNNING');
    // A cancel was requested (the API's or a command's row 11), and then the worker went silent.
    const writer = new JobWriter({ pool: h.pool });
    await writer.write({
      jobId: target!.id, attempt: 1, expect: ['RUNNING'], set: { cancelRequestedAt: 'now' },
      events: [{ type: 'job.cancel_requested', actor: 'test', payload: { reason: 'no longer wanted' } }],
    });
    await writer.stop();
    await doomed.stop();
    await waitFor(async () => (await job(target!.id)).status !== 'RUNNING', 15_000, 'the lost worker’s job settled');
    expect(await job(target!.id)).toMatchObject({ status: 'CANCELLED', attempt: 1, worker_id: null });
    expect((await events(target!.id)).at(-1)).toMatchObject({ type: 'job.cancelled', payload: { reason: 'no longer wanted', from: 'RUNNING' } });
  });

  it('keeps a cancel committed between a lost worker’s read and its requeue: the job is cancelled, never dispatched again', async () => {
    const pool = await ownPool(h.ns, 'lost-cancel');
    const [target] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ pool }) });
    await h.pool.query(`UPDATE runner_jobs SET status = 'RUNNING', attempt = 1, worker_id = 'w-gone', started_at = now() WHERE id = $1`, [target!.id]);
    // A worker with a free slot in the pool: it would take the job if it were dispatched.
    const idle = new FakeWorker(h.ns, h.pool, 1, { pool });
    idle.start();
    try {
      // The duty's read, before the request: no cancel pending.
      const { rows: [orphan] } = await h.pool.query<OrphanedJob>(`SELECT ${ORPHAN_COLUMNS} FROM runner_jobs j WHERE j.id = $1`, [target!.id]);
      expect(orphan!.cancel_pending).toBe(false);
      const writer = new JobWriter({ pool: h.pool });
      await writer.write({
        jobId: target!.id, attempt: 1, expect: ['RUNNING'], set: { cancelRequestedAt: 'now' },
        events: [{ type: 'job.cancel_requested', actor: 'test', payload: { reason: 'too late for the read' } }],
      });
      // The duty's write, after it: the next attempt, with the request kept.
      const requeued = await writer.write(attemptFailed(orphan!, { code: 'WORKER_LOST', message: 'lost', retryable: true }, 'worker_lost'));
      await writer.stop();
      expect(requeued).toMatchObject({ applied: true, status: 'QUEUED' });
      await waitFor(async () => (await job(target!.id)).status === 'CANCELLED', 10_000, 'the kept cancel honoured');
      expect((await events(target!.id)).at(-1)).toMatchObject({ type: 'job.cancelled', attempt: 2, payload: { reason: 'too late for the read', from: 'QUEUED' } });
      expect(idle.dispatches.filter((d) => d.jobId === target!.id)).toEqual([]);
    } finally {
      await idle.stop();
    }
  });

  it('cancels a job whose worker queued it again just after its cancel was requested', async () => {
    const [target] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ pool: await ownPool(h.ns, 'idle-cancel') }) });
    await h.pool.query(`UPDATE runner_jobs SET status = 'RUNNING', worker_id = 'w-retrying', started_at = now() WHERE id = $1`, [target!.id]);
    // The request (row 11), then the worker's retry of its failed attempt (row 8), committed
    // just after it: the job is QUEUED as attempt 2 and the request reached no attempt.
    const writer = new JobWriter({ pool: h.pool });
    await writer.write({
      jobId: target!.id, attempt: 1, expect: ['RUNNING'], set: { cancelRequestedAt: 'now' },
      events: [{ type: 'job.cancel_requested', actor: 'test', payload: { reason: 'stop it' } }],
    });
    const runAt = new Date(Date.now() + 3_600_000);
    const error = { code: 'STEP_FAILED' as const, message: 'failed', retryable: true };
    const retried = await writer.write({
      jobId: target!.id, attempt: 1, expect: ['RUNNING'], to: 'QUEUED',
      set: { attempt: 2, failures: 1, error, runAt, queuedAt: 'now', workerId: null, dispatchedAt: null, deadlineAt: null },
      events: [{ type: 'job.queued', actor: 'worker:w-retrying', attempt: 2, payload: { attempt: 2, reason: 'retry', runAt: runAt.toISOString(), error } }],
    });
    await writer.stop();
    expect(retried.applied).toBe(true);
    await waitFor(async () => (await job(target!.id)).status === 'CANCELLED', 10_000, 'the pending cancel honoured');
    expect((await events(target!.id)).at(-1)).toMatchObject({ type: 'job.cancelled', attempt: 2, payload: { reason: 'stop it', from: 'QUEUED' } });
  });
});

/** This scheduler's gantry_jobs_timed_out_total. */
async function timedOutCount(): Promise<number> {
  const line = (await h.metrics.render()).split('\n').find((l) => l.startsWith(`${MetricNames.jobsTimedOut} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('timeouts', () => {
  it('signal the worker, then end the attempt with a TIMEOUT error and queue it after its backoff', async () => {
    const backoff = { kind: 'fixed' as const, initialMs: 60_000, maxMs: 60_000, jitter: 0 };
    // A pool of its own, so that no other test's job takes the worker's only slot.
    await ownPool(h.ns, 'timeouts');
    const [slow] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ backoff, pool: 'timeouts' }) });
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool: 'timeouts' });
    const signals: CancelSignal[] = [];
    const sub = h.ns.nc.subscribe(h.ns.names.subjects.cancel(worker.workerId), {
      callback: (_e, m) => {
        signals.push(CancelSignal.parse(m.json()));
      },
    });
    worker.start();
    try {
      await waitFor(async () => (await job(slow!.id)).status === 'RUNNING');
      await h.pool.query(`UPDATE runner_jobs SET deadline_at = now() - interval '100 milliseconds' WHERE id = $1`, [slow!.id]);
      await waitFor(() => signals.length > 0, 5_000, 'the timeout signal');
      expect(signals[0]).toEqual({ v: 1, jobId: slow!.id, attempt: 1, reason: 'timeout' });
      // An attempt is counted as timed out where it ends, not where a leader first sees it
      // overdue (each leader that saw it counted it again). Read before the status: still
      // RUNNING then, the attempt had not ended when the counter was read.
      const signalled = await timedOutCount();
      if ((await job(slow!.id)).status === 'RUNNING') expect(signalled).toBe(0);
      // The worker does not react: after the grace the scheduler ends the attempt itself.
      await waitFor(async () => (await job(slow!.id)).status === 'QUEUED', 5_000, 'the requeue');
      const row = await job(slow!.id);
      expect(row).toMatchObject({ attempt: 2, failures: 1, error: { code: 'TIMEOUT' } });
      expect(await timedOutCount()).toBe(1);
      const delay = row.run_at.getTime() - Date.now();
      expect(delay).toBeGreaterThan(retryDelayMs(backoff, 1) - 10_000);
    } finally {
      sub.unsubscribe();
      await worker.stop();
    }
  });
});

describe('a job past its deadline with a cancel pending', () => {
  it('ends CANCELLED after the grace, and is not counted as timed out', async () => {
    await ownPool(h.ns, 'timeouts-cancel');
    const [slow] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ pool: 'timeouts-cancel' }) });
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool: 'timeouts-cancel' });
    worker.start();
    try {
      await waitFor(async () => (await job(slow!.id)).status === 'RUNNING');
      const before = await timedOutCount();
      // The user cancelled it and its deadline passed; the worker does neither.
      await h.pool.query(`UPDATE runner_jobs SET cancel_requested_at = now(), deadline_at = now() - interval '100 milliseconds' WHERE id = $1`, [slow!.id]);
      await waitFor(async () => (await job(slow!.id)).status === 'CANCELLED', 5_000, 'the scheduler to end it');
      expect(await timedOutCount()).toBe(before);
    } finally {
      await worker.stop();
    }
  });
});

describe('approval gates', () => {
  it('fail a job whose gate waited past its deadline, with a TIMEOUT error on the gate step', async () => {
    const spec = jobSpec({ steps: [{ name: 'sign-off', phase: 'VALIDATION', type: 'GATE', spec: { kind: 'approval' } }], pool: 'no-workers' });
    const [waiting] = await createJobs(h.pool, ws, 1, { spec });
    const stepId = waiting!.stepIds[0]!;
    await h.pool.query(`UPDATE runner_jobs SET status = 'WAITING', deadline_at = now() - interval '1 second' WHERE id = $1`, [waiting!.id]);
    await h.pool.query(`UPDATE job_steps SET status = 'WAITING' WHERE id = $1`, [stepId]);

    await waitFor(async () => (await job(waiting!.id)).status === 'FAILED', 5_000, 'the gate timeout');
    expect((await job(waiting!.id)).error).toMatchObject({ code: 'TIMEOUT', stepId });
    const { rows } = await h.pool.query('SELECT status FROM job_steps WHERE id = $1', [stepId]);
    expect(rows[0].status).toBe('FAILED');
    expect((await events(waiting!.id)).slice(-2).map((e) => e.type)).toEqual(['gate.failed', 'job.failed']);
  });

  it('are found through their jobs, never by reading every step', async () => {
    // Thousands of gates overdue at once, seen only inside a transaction that is rolled back (so
    // the running scheduler never acts on them), and analyzed there: a join read every WAITING
    // step of the table and hashed them.
    const jobs = await createJobs(h.pool, ws, 3_000, { spec: jobSpec({ pool: 'no-workers' }) });
    const ids = jobs.map((j) => j.id);
    const client = await h.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(`UPDATE runner_jobs SET status = 'WAITING', deadline_at = now() - interval '1 hour' WHERE id = ANY($1::uuid[])`, [ids]);
      await client.query(`UPDATE job_steps SET status = 'WAITING' WHERE job_id = ANY($1::uuid[])`, [ids]);
      await client.query('ANALYZE runner_jobs, job_steps');
      const { rows } = await client.query(`EXPLAIN (FORMAT JSON) ${GATES_OVERDUE_SQL}`, [1_000]);
      const scans = planNodes(planOf(rows)).filter((n) => n['Relation Name'] === 'job_steps').map((n) => n['Node Type']);
      expect(scans.length).toBeGreaterThan(0);
      expect(scans).not.toContain('Seq Scan');
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});

describe('the reconciler', () => {
  it('queues a PENDING job whose submit command never arrived', async () => {
    const [orphan] = await createJobs(h.pool, ws, 1, { status: 'PENDING' });
    await waitFor(async () => (await job(orphan!.id)).status === 'QUEUED', 5_000, 'the reconciler');
    expect((await events(orphan!.id)).map((e) => e.type)).toEqual(['job.created', 'job.queued']);
  });
});
