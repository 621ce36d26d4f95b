import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobs, createWorkspace, jobSpec, planNodes, planOf, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool, withTransaction } from '../db/pool.js';
import { uuidv7 } from '../ids.js';
import { applyWrites, WAVE_SQL } from './apply-writes.js';
import type { JobWrite, StepPatch } from './job-write.js';

const db = useTestDatabase();
let pool: Pool;
let workspaceId: string;

beforeAll(async () => {
  pool = createPool(db.url, { max: 2, applicationName: 'apply-writes-test' });
  workspaceId = await createWorkspace(pool);
});
afterAll(async () => {
  await pool.end();
});

const apply = (writes: JobWrite[]) => withTransaction(pool, (c) => applyWrites(c, writes));

function start(jobId: string, attempt: number, workerId = 'w1'): JobWrite {
  return {
    jobId,
    attempt,
    expect: ['QUEUED'],
    to: 'RUNNING',
    set: { workerId, startedAt: 'now' },
    events: [{ type: 'job.started', actor: `worker:${workerId}`, payload: { attempt, workerId } }],
  };
}

async function jobRow(id: string) {
  const { rows } = await pool.query(
    'SELECT status, attempt, worker_id, version, started_at FROM runner_jobs WHERE id = $1',
    [id],
  );
  return rows[0];
}

describe('applyWrites', () => {
  it('moves a job and writes its events in the same transaction', async () => {
    const [job] = await createJobs(pool, workspaceId);
    const [result] = await apply([start(job!.id, 1)]);
    expect(result).toMatchObject({ applied: true, status: 'RUNNING', attempt: 1 });
    expect(result!.events.map((e) => [e.type, e.sequence, e.workspaceId])).toEqual([['job.started', 3, workspaceId]]);
    const row = await jobRow(job!.id);
    expect(row).toMatchObject({ status: 'RUNNING', attempt: 1, worker_id: 'w1', version: 2 });
    expect(row.started_at).toBeInstanceOf(Date);
  });

  it('refuses a stale attempt and changes nothing', async () => {
    const [job] = await createJobs(pool, workspaceId);
    await apply([start(job!.id, 1)]);
    // The attempt fails and is queued again as attempt 2 ...
    await apply([
      {
        jobId: job!.id,
        attempt: 1,
        expect: ['RUNNING'],
        to: 'QUEUED',
        set: { attempt: 2, workerId: null },
        events: [{ type: 'job.queued', actor: 'scheduler', payload: { attempt: 2, reason: 'worker_lost', runAt: null } }],
      },
    ]);
    const before = await jobRow(job!.id);
    // ... so the old worker's completion of attempt 1 is fenced off.
    const [late] = await apply([
      {
        jobId: job!.id,
        attempt: 1,
        expect: ['RUNNING'],
        to: 'COMPLETED',
        set: { completedAt: 'now', progress: 100 },
        events: [{ type: 'job.completed', actor: 'worker:w1', payload: { durationMs: 5, result: null } }],
      },
    ]);
    expect(late).toEqual({ applied: false, status: 'QUEUED', attempt: 2, events: [] });
    expect(await jobRow(job!.id)).toEqual(before);
    const { rows } = await pool.query(`SELECT count(*)::int AS n FROM job_events WHERE job_id = $1 AND type = 'job.completed'`, [job!.id]);
    expect(rows[0].n).toBe(0);
  });

  it('refuses a write whose expected status does not hold', async () => {
    const [job] = await createJobs(pool, workspaceId);
    const [result] = await apply([
      { jobId: job!.id, attempt: 1, expect: ['RUNNING'], to: 'COMPLETED', events: [] },
    ]);
    expect(result).toMatchObject({ applied: false, status: 'QUEUED' });
  });

  it('refuses a write that asks for no cancel request when the job carries one, and applies it when it does not', async () => {
    const [job] = await createJobs(pool, workspaceId);
    await apply([start(job!.id, 1)]);
    const request = (reason: string): JobWrite => ({
      jobId: job!.id,
      attempt: 1,
      expect: ['RUNNING'],
      unlessCancelRequested: true,
      set: { cancelRequestedAt: 'now' },
      events: [{ type: 'job.cancel_requested', actor: 'test', payload: { reason } }],
    });
    // Two in one batch: the second (its own wave) sees the first's request.
    const [first, second] = await apply([request('first'), request('second')]);
    expect(first).toMatchObject({ applied: true, status: 'RUNNING', attempt: 1 });
    expect(second).toEqual({ applied: false, status: 'RUNNING', attempt: 1, events: [] });
    // A write that does not ask passes as before.
    const [progress] = await apply([{ jobId: job!.id, attempt: 1, expect: ['RUNNING'], set: { progress: 50 }, events: [] }]);
    expect(progress!.applied).toBe(true);
    const { rows } = await pool.query(`SELECT payload FROM job_events WHERE job_id = $1 AND type = 'job.cancel_requested'`, [job!.id]);
    expect(rows.map((r) => r.payload)).toEqual([{ reason: 'first' }]);
  });

  it('lets a later write of the same job in a batch see the earlier one', async () => {
    const [job] = await createJobs(pool, workspaceId);
    const [first, second, third] = await apply([start(job!.id, 1, 'a'), start(job!.id, 1, 'b'), {
      jobId: job!.id,
      attempt: 1,
      expect: ['RUNNING'],
      to: 'COMPLETED',
      set: { completedAt: 'now' },
      events: [{ type: 'job.completed', actor: 'worker:a', payload: { durationMs: 1, result: { ok: true } } }],
    }]);
    expect(first!.applied).toBe(true);
    expect(second!.applied).toBe(false); // already RUNNING: only one worker claims it
    expect(third).toMatchObject({ applied: true, status: 'COMPLETED' });
    expect(third!.events[0]!.sequence).toBe(4);
  });

  it('merges two changes of one step in one write, the later winning', async () => {
    const [job] = await createJobs(pool, workspaceId);
    const stepId = job!.stepIds[0]!;
    const [result] = await apply([
      {
        ...start(job!.id, 1),
        steps: [
          { stepId, status: 'RUNNING', startedAt: 'now' },
          { stepId, status: 'COMPLETED', completedAt: 'now', durationMs: 3 },
        ],
      },
    ]);
    expect(result!.applied).toBe(true);
    const { rows } = await pool.query('SELECT status, duration_ms, started_at IS NOT NULL AS started FROM job_steps WHERE id = $1', [stepId]);
    expect(rows[0]).toEqual({ status: 'COMPLETED', duration_ms: 3, started: true });
  });

  it('reports an unknown job as refused with no status', async () => {
    const [result] = await apply([start('00000000-0000-4000-8000-000000000000', 1)]);
    expect(result).toEqual({ applied: false, status: null, attempt: null, events: [] });
  });

  it('rejects a move the state machine forbids before touching the database', async () => {
    const [job] = await createJobs(pool, workspaceId);
    await expect(apply([{ jobId: job!.id, attempt: 1, expect: ['COMPLETED'], to: 'RUNNING', events: [] }])).rejects.toThrow(
      /COMPLETED → RUNNING/,
    );
    await expect(
      apply([{ jobId: job!.id, attempt: 1, expect: ['RUNNING'], to: 'QUEUED', set: { attempt: 3 }, events: [] }]),
    ).rejects.toThrow(/new attempt must be 2/);
  });

  it('updates steps of the job, and refuses a step of another job', async () => {
    const [job, other] = await createJobs(pool, workspaceId, 2);
    await apply([start(job!.id, 1)]);
    const stepId = job!.stepIds[1]!;
    const [result] = await apply([
      {
        jobId: job!.id,
        attempt: 1,
        expect: ['RUNNING'],
        steps: [{ stepId, status: 'COMPLETED', exitCode: 0, durationMs: 12, completedAt: 'now', output: { lines: 3 } }],
        events: [{ type: 'step.completed', stepId, actor: 'worker:w1', payload: { durationMs: 12, exitCode: 0 } }],
      },
    ]);
    expect(result!.events[0]!.stepId).toBe(stepId);
    const { rows } = await pool.query('SELECT status, exit_code, duration_ms, output FROM job_steps WHERE id = $1', [stepId]);
    expect(rows[0]).toEqual({ status: 'COMPLETED', exit_code: 0, duration_ms: 12, output: { lines: 3 } });

    await expect(
      apply([{ jobId: other!.id, attempt: 1, expect: ['QUEUED'], steps: [{ stepId, status: 'FAILED' }], events: [] }]),
    ).rejects.toThrow(/does not belong to its job/);
    // The same beside a write of the step's own job, in one wave: still refused, nothing changed.
    await expect(
      apply([
        { jobId: job!.id, attempt: 1, expect: ['RUNNING'], steps: [{ stepId, status: 'COMPLETED', exitCode: 1 }], events: [] },
        { jobId: other!.id, attempt: 1, expect: ['QUEUED'], steps: [{ stepId, status: 'FAILED' }], events: [] },
      ]),
    ).rejects.toThrow(/does not belong to its job/);
    const after = await pool.query('SELECT status, exit_code FROM job_steps WHERE id = $1', [stepId]);
    expect(after.rows[0]).toEqual({ status: 'COMPLETED', exit_code: 0 });
  });

  it.each([false, true])('reports each job as the write left it and files unattributed events under the new attempt (bulk events: %s)', async (bulkEvents) => {
    const jobs = await createJobs(pool, workspaceId, 3);
    await apply(jobs.map((j) => start(j.id, 1)));
    const retry = (jobId: string): JobWrite => ({
      jobId,
      attempt: 1,
      expect: ['RUNNING'],
      to: 'QUEUED',
      set: { attempt: 2, failures: 1, workerId: null },
      events: [{ type: 'job.queued', actor: 'scheduler', payload: { attempt: 2, reason: 'worker_lost', runAt: null } }],
    });
    const progress = (jobId: string): JobWrite => ({
      jobId,
      attempt: 1,
      expect: ['RUNNING'],
      events: [{ type: 'job.progress', actor: 'worker:w1', payload: { progress: 50, completedSteps: 1, totalSteps: 2 } }],
    });
    const results = await withTransaction(pool, (c) =>
      applyWrites(c, [retry(jobs[0]!.id), progress(jobs[1]!.id), retry(jobs[2]!.id)], { bulkEvents }),
    );
    expect(results.map(({ applied, status, attempt }) => ({ applied, status, attempt }))).toEqual([
      { applied: true, status: 'QUEUED', attempt: 2 },
      { applied: true, status: 'RUNNING', attempt: 1 },
      { applied: true, status: 'QUEUED', attempt: 2 },
    ]);
    const { rows } = await pool.query<{ job_id: string; attempt: number }>(
      `SELECT job_id, attempt FROM job_events WHERE job_id = ANY($1::uuid[]) AND type IN ('job.queued', 'job.progress') AND actor <> 'test'`,
      [jobs.map((j) => j.id)],
    );
    const attemptOf = new Map(rows.map((r) => [r.job_id, r.attempt]));
    expect(jobs.map((j) => attemptOf.get(j.id))).toEqual([2, 1, 2]);
    expect(results.map((r) => r.events[0]!.attempt)).toEqual([2, 1, 2]);
  });
});

describe('a claim that loads its job (JobWrite.load)', () => {
  const claim = (jobId: string, attempt = 1): JobWrite => ({
    ...start(jobId, attempt),
    set: { workerId: 'w1', startedAt: 'now', deadlineAt: 'timeout' },
    load: true,
  });

  it('is answered with the job as the claim left it, its steps in order, and sets the deadline from the job’s timeout', async () => {
    const spec = jobSpec({
      type: 'report',
      payload: { n: 7 },
      timeoutMs: 45_000,
      maxAttempts: 4,
      steps: [
        { name: 'tidy', phase: 'CLEANUP', type: 'NOOP' },
        { name: 'run', phase: 'EXECUTION', type: 'NOOP', timeoutMs: 9_000 },
      ],
    });
    const [job] = await createJobs(pool, workspaceId, 1, { spec });
    const [result] = await apply([claim(job!.id)]);
    expect(result).toMatchObject({ applied: true, status: 'RUNNING', attempt: 1 });
    expect(result!.events.map((e) => e.type)).toEqual(['job.started']);
    expect(result!.job).toEqual({
      id: job!.id, workspaceId, type: 'report', status: 'RUNNING', attempt: 1, failures: 0, maxAttempts: 4,
      backoff: spec.backoff, timeoutMs: 45_000, payload: { n: 7 },
      steps: [
        { id: job!.stepIds[0], ordinal: 0, name: 'tidy', phase: 'CLEANUP', type: 'NOOP', status: 'PENDING', spec: {}, timeoutMs: null, output: null },
        { id: job!.stepIds[1], ordinal: 1, name: 'run', phase: 'EXECUTION', type: 'NOOP', status: 'PENDING', spec: {}, timeoutMs: 9_000, output: null },
      ],
    });
    const { rows } = await pool.query(
      `SELECT (extract(epoch FROM deadline_at - started_at) * 1000)::int AS ms FROM runner_jobs WHERE id = $1`,
      [job!.id],
    );
    expect(rows[0].ms).toBe(45_000);
  });

  it('answers a refused claim, and a write that does not ask, without a job', async () => {
    const [job] = await createJobs(pool, workspaceId);
    const [first] = await apply([start(job!.id, 1)]);
    expect(first).not.toHaveProperty('job');
    const [again] = await apply([claim(job!.id)]);
    expect(again).toEqual({ applied: false, status: 'RUNNING', attempt: 1, events: [] });
  });

  it('is answered with the job again when it is replayed after it committed', async () => {
    const [job] = await createJobs(pool, workspaceId);
    const write: JobWrite = { ...claim(job!.id), events: [{ ...claim(job!.id).events[0]!, id: uuidv7() }] };
    const [first] = await apply([write]);
    const [again] = await apply([{ ...write, replay: true }]);
    expect(first!.job?.status).toBe('RUNNING');
    expect(again).toEqual(first);
  });

  it('may not change steps or failures, which it reads from before the write', async () => {
    const [job] = await createJobs(pool, workspaceId);
    await expect(apply([{ ...claim(job!.id), steps: [{ stepId: job!.stepIds[0]!, status: 'RUNNING' }] }])).rejects.toThrow(/cannot change its steps/);
    await expect(apply([{ ...claim(job!.id), set: { failures: 1 } }])).rejects.toThrow(/cannot change its steps or failures/);
  });
});

describe('a replayed write (its first answer was lost)', () => {
  /** Step 1 completes and step 2 starts: a write that leaves the job RUNNING, so its guard holds again. */
  function stepDone(job: { id: string; stepIds: string[] }): JobWrite {
    const [one, two] = job.stepIds;
    return {
      jobId: job.id,
      attempt: 1,
      expect: ['RUNNING'],
      steps: [{ stepId: one!, status: 'COMPLETED', completedAt: 'now' }, { stepId: two!, status: 'RUNNING', startedAt: 'now' }],
      events: [
        { id: uuidv7(), type: 'step.completed', stepId: one!, actor: 'worker:w1', attempt: 1, payload: { durationMs: 3 } },
        { id: uuidv7(), type: 'step.started', stepId: two!, actor: 'worker:w1', attempt: 1, payload: { name: 'b', phase: 'EXECUTION', type: 'NOOP' } },
      ],
    };
  }

  async function eventsOf(jobId: string) {
    const { rows } = await pool.query<{ id: string; sequence: number }>('SELECT id, sequence FROM job_events WHERE job_id = $1 ORDER BY sequence', [jobId]);
    return rows;
  }

  it.each([false, true])('is answered as it committed, and writes nothing again (bulk events: %s)', async (bulkEvents) => {
    const jobs = await createJobs(pool, workspaceId, 2);
    await apply(jobs.map((j) => start(j.id, 1)));
    const write = stepDone(jobs[0]!);
    const [first] = await apply([write]);
    const before = { events: await eventsOf(jobs[0]!.id), row: await jobRow(jobs[0]!.id) };
    // Replayed in a batch beside a write of another job sent the first time.
    const [again, other] = await withTransaction(pool, (c) => applyWrites(c, [{ ...write, replay: true }, stepDone(jobs[1]!)], { bulkEvents }));
    expect(again).toEqual(first);
    expect(other).toMatchObject({ applied: true, status: 'RUNNING' });
    expect(other!.events.map((e) => e.sequence)).toEqual([4, 5]);
    expect({ events: await eventsOf(jobs[0]!.id), row: await jobRow(jobs[0]!.id) }).toEqual(before);
  });

  it('is answered with the events stored the first time, not with its own, which may have changed since', async () => {
    const jobs = await createJobs(pool, workspaceId, 1);
    await apply([start(jobs[0]!.id, 1)]);
    const write = stepDone(jobs[0]!);
    const [first] = await apply([write]);
    // Built again from the job as it is now (as a scheduler's command write is): the same first
    // event id, another payload, one event fewer.
    const completed = write.events[0]!;
    const rebuilt: JobWrite = { ...write, replay: true, events: [{ id: completed.id!, type: 'step.completed', stepId: completed.stepId!, actor: completed.actor, attempt: 1, payload: { durationMs: 99 } }] };
    const [again] = await apply([rebuilt]);
    expect(again).toEqual(first);
    expect(again!.events.map((e) => [e.type, e.payload])).toEqual([['step.completed', { durationMs: 3 }], ['step.started', { name: 'b', phase: 'EXECUTION', type: 'NOOP' }]]);
  });

  it('is answered as applied when it was the move that ended the job', async () => {
    const [job] = await createJobs(pool, workspaceId);
    await apply([start(job!.id, 1)]);
    const end: JobWrite = {
      jobId: job!.id,
      attempt: 1,
      expect: ['RUNNING'],
      to: 'COMPLETED',
      set: { completedAt: 'now' },
      events: [{ id: uuidv7(), type: 'job.completed', actor: 'worker:w1', payload: { durationMs: 1, result: null } }],
    };
    const [first] = await apply([end]);
    const [again] = await apply([{ ...end, replay: true }]);
    expect(again).toEqual(first);
    expect((await eventsOf(job!.id)).length).toBe(4);
  });

  it('is applied when it never committed', async () => {
    const [job] = await createJobs(pool, workspaceId);
    await apply([start(job!.id, 1)]);
    const write = stepDone(job!);
    const [result] = await apply([{ ...write, replay: true }]);
    expect(result).toMatchObject({ applied: true, status: 'RUNNING', attempt: 1 });
    expect((await eventsOf(job!.id)).slice(-2)).toEqual([
      { id: write.events[0]!.id, sequence: 4 },
      { id: write.events[1]!.id, sequence: 5 },
    ]);
  });

  it('is answered as applied when it waited for its first try, still committing, to release the job', async () => {
    const [job] = await createJobs(pool, workspaceId);
    const claim: JobWrite = { ...start(job!.id, 1), events: start(job!.id, 1).events.map((e) => ({ ...e, id: uuidv7() })) };
    // The first try holds the job's lock, not yet committed, when the replay of the same write arrives.
    const side = createPool(db.url, { max: 2, applicationName: 'apply-writes-test-first-try' });
    const first = await side.connect();
    try {
      await first.query('BEGIN');
      const [tried] = await applyWrites(first, [claim]);
      expect(tried!.applied).toBe(true);
      const replay = apply([{ ...claim, replay: true }]);
      const waitingForLock = async () =>
        (await side.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`)).rows[0]!.n > 0;
      for (const deadline = Date.now() + 10_000; !(await waitingForLock());) {
        if (Date.now() > deadline) throw new Error('the replay never waited for the lock');
        await new Promise((r) => setTimeout(r, 10));
      }
      await first.query('COMMIT');
      const [again] = await replay;
      expect(again).toMatchObject({ applied: true, status: 'RUNNING', attempt: 1 });
      expect(again!.events.map((e) => e.id)).toEqual(claim.events.map((e) => e.id));
    } finally {
      first.release();
      await side.end();
    }
    expect((await eventsOf(job!.id)).filter((e) => e.id === claim.events[0]!.id)).toHaveLength(1);
  });

  it('must name its first event', async () => {
    const [job] = await createJobs(pool, workspaceId);
    await expect(apply([{ ...start(job!.id, 1), replay: true }])).rejects.toThrow(/must name its first event/);
  });
});

describe('the wave statement', () => {
  it('holds only the parts its wave uses: a replay probe for a replay, the job for a load, a step update for step changes', async () => {
    const [plain, claimed, stepped] = await createJobs(pool, workspaceId, 3);
    await apply([start(stepped!.id, 1)]);
    // A connection of its own, on which no other wave was prepared.
    const own = createPool(db.url, { max: 1 });
    const client = await own.connect();
    try {
      await client.query('BEGIN');
      const move: JobWrite = { ...start(plain!.id, 1), events: [{ ...start(plain!.id, 1).events[0]!, id: uuidv7() }] };
      const [moved] = await applyWrites(client, [move]);
      expect(moved).toMatchObject({ applied: true, status: 'RUNNING' });
      const [replayed] = await applyWrites(client, [{ ...move, replay: true }]);
      expect(replayed).toEqual(moved);
      const [loaded] = await applyWrites(client, [{ ...start(claimed!.id, 1), load: true }]);
      expect(loaded!.job?.id).toBe(claimed!.id);
      const step: StepPatch = { stepId: stepped!.stepIds[0]!, status: 'RUNNING', startedAt: 'now' };
      const [stepWrite] = await applyWrites(client, [{ jobId: stepped!.id, attempt: 1, expect: ['RUNNING'], steps: [step], events: [] }]);
      expect(stepWrite).toMatchObject({ applied: true, status: 'RUNNING' });
      const { rows } = await client.query<{ name: string; statement: string }>(
        `SELECT name, statement FROM pg_prepared_statements WHERE name LIKE 'gantry_wave%' ORDER BY name`,
      );
      const parts = (text: string) => ({
        replayProbe: text.includes('e.id = v.replay'),
        loadsJob: text.includes('json_build_object'),
        updatesSteps: text.includes('UPDATE job_steps'),
      });
      expect(rows.map((r) => ({ name: r.name, ...parts(r.statement) }))).toEqual([
        { name: 'gantry_wave', replayProbe: false, loadsJob: false, updatesSteps: false },
        { name: 'gantry_wave_load', replayProbe: false, loadsJob: true, updatesSteps: false },
        { name: 'gantry_wave_replay', replayProbe: true, loadsJob: false, updatesSteps: false },
        { name: 'gantry_wave_steps', replayProbe: false, loadsJob: false, updatesSteps: true },
      ]);
    } finally {
      await client.query('ROLLBACK');
      client.release();
      await own.end();
    }
  });

  it('looks for a replay’s first event only after the sequence its writer last saw, not through all of a long job’s events', async () => {
    const [job] = await createJobs(pool, workspaceId);
    await apply([start(job!.id, 1)]);
    // A long job: 500 output events after its start (sequences 4–503).
    await apply([{
      jobId: job!.id, attempt: 1, expect: ['RUNNING'],
      events: Array.from({ length: 500 }, (_, k) => ({ type: 'step.output' as const, actor: 'test', payload: { stream: 'stdout' as const, offset: k, chunk: 'x' } })),
    }]);
    const probeRows = async (after: number | null) => {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${WAVE_SQL}`, [
          JSON.stringify([{ i: 0, job_id: job!.id, attempt: 1, expect: ['RUNNING'], p: {}, replay: uuidv7(), after, load: false, uncancelled: false }]),
          '[]',
          JSON.stringify([{ job_id: job!.id, ord: 1, id: uuidv7(), step_id: null, type: 'job.progress', actor: 'test', attempt: null, payload: { progress: 1, completedSteps: 0, totalSteps: 1 } }]),
        ]);
        const probe = planNodes(planOf(rows)).find((n) => n['Relation Name'] === 'job_events' && n.Filter?.includes('replay'))!;
        return probe['Actual Rows']! + (probe['Rows Removed by Filter'] ?? 0);
      } finally {
        await client.query('ROLLBACK');
        client.release();
      }
    };
    expect(await probeRows(null)).toBeGreaterThanOrEqual(500);
    expect(await probeRows(503)).toBe(0);
  });

  it('locks its jobs by primary key, never by a scan of runner_jobs, on a table of thousands of never-analyzed jobs; probes events only for a replay', async () => {
    // Without statistics the planner takes the wave's rows (a set-returning function) for 100
    // and, stated as `id IN (…)`, hashed them against a scan of the whole table.
    const jobs = await createJobs(pool, workspaceId, 3_000);
    const job = jobs[1_500]!;
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${WAVE_SQL}`, [
        JSON.stringify([{ i: 0, job_id: job.id, attempt: 1, expect: ['QUEUED'], p: { status: 'RUNNING' }, replay: null }]),
        '[]',
        JSON.stringify([{ job_id: job.id, ord: 1, id: uuidv7(), step_id: null, type: 'job.started', actor: 'test', attempt: null, payload: {} }]),
      ]);
      const nodes = planNodes(planOf(rows));
      expect(nodes.filter((n) => n['Relation Name'] === 'runner_jobs' && n['Node Type'] === 'Seq Scan')).toEqual([]);
      expect(nodes.some((n) => n['Index Name'] === 'runner_jobs_pkey')).toBe(true);
      // The replay probe: under the primary key, and never run for a write sent the first time.
      const probe = nodes.filter((n) => n['Relation Name'] === 'job_events' && n.Filter?.includes('replay'));
      expect(probe).toHaveLength(1);
      expect(probe[0]!['Actual Loops']).toBe(0);
      expect(planNodes(probe[0]!).some((n) => n['Index Name'] === 'job_events_pkey')).toBe(true);
      // The loaded job: read only for a write that asks for it.
      const loads = nodes.filter((n) => n['Relation Name'] === 'job_steps' && n['Node Type'] !== 'ModifyTable');
      expect(loads.length).toBeGreaterThan(0);
      expect(loads.map((n) => n['Actual Loops'])).toEqual(loads.map(() => 0));
    } finally {
      await client.query('ROLLBACK');
      client.release();
    }
  });
});
