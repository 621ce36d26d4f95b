import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createJobs, createWorkspace, useTestDatabase } from '@gantry/testkit';
import { createPool, type Pool } from '../db/pool.js';
import type { JobWrite, WriteResult } from './job-write.js';
import { type FlushReport, JobWriter } from './job-writer.js';

const db = useTestDatabase();
let pool: Pool;
let workspaceId: string;

beforeAll(async () => {
  pool = createPool(db.url, { max: 4, applicationName: 'job-writer-test' });
  workspaceId = await createWorkspace(pool);
});
afterAll(async () => {
  await pool.end();
});

function progress(jobId: string, n: number): JobWrite {
  return {
    jobId,
    attempt: 1,
    expect: ['QUEUED', 'RUNNING'],
    set: { progress: n },
    events: [{ type: 'job.progress', actor: 'test', payload: { progress: n, completedSteps: 0, totalSteps: 3 } }],
  };
}

async function sequences(jobId: string): Promise<{ sequence: number; progress: number }[]> {
  const { rows } = await pool.query<{ sequence: number; progress: number }>(
    `SELECT sequence, (payload->>'progress')::int AS progress FROM job_events WHERE job_id = $1 ORDER BY sequence`,
    [jobId],
  );
  return rows;
}

describe('JobWriter', () => {
  it('sends a lone write at once when idle, whatever its window (the window is for writes made while a flush runs)', async () => {
    const [job] = await createJobs(pool, workspaceId, 1);
    const flushes: FlushReport[] = [];
    // A window longer than the test's timeout: waiting for it would fail the test.
    const writer = new JobWriter({ pool, flushWindowMs: 60_000, onFlush: (r) => flushes.push(r) });
    const first = await writer.write(progress(job!.id, 1));
    expect(first.applied).toBe(true);
    // Two writes of one turn still travel together.
    const [jobA, jobB] = await createJobs(pool, workspaceId, 2);
    const both = await Promise.all([writer.write(progress(jobA!.id, 2)), writer.write(progress(jobB!.id, 2))]);
    expect(both.map((r) => r.applied)).toEqual([true, true]);
    expect(flushes.map((f) => f.writes)).toEqual([1, 2]);
    await writer.stop();
  });

  it('reports each write of a failed batch as it is retried alone: one error for the bad one, the good ones committed with their events', async () => {
    const [good, bad] = await createJobs(pool, workspaceId, 2);
    const flushes: FlushReport[] = [];
    const writer = new JobWriter({ pool, onFlush: (r) => flushes.push(r) });
    // One batch: the second write breaks progress' CHECK (0..100), so the batch fails as a whole.
    const [ok, refused] = await Promise.allSettled([writer.write(progress(good!.id, 5)), writer.write(progress(bad!.id, 150))]);
    await writer.stop();
    expect([ok.status, refused.status]).toEqual(['fulfilled', 'rejected']);
    expect((await sequences(good!.id)).map((r) => r.progress)).toEqual([null, null, 5]);
    expect(flushes.map(({ writes, events, ok }) => ({ writes, events, ok }))).toEqual([
      { writes: 1, events: 1, ok: true },
      { writes: 1, events: 0, ok: false },
    ]);
  });

  it('group-commits many concurrent writes into few transactions, in order per job', async () => {
    const jobs = await createJobs(pool, workspaceId, 20);
    const flushes: FlushReport[] = [];
    const writer = new JobWriter({ pool, flushWindowMs: 5, onFlush: (r) => flushes.push(r) });
    const writes = jobs.flatMap((job) => Array.from({ length: 10 }, (_, i) => writer.write(progress(job.id, i + 1))));
    const results = await Promise.all(writes);
    await writer.stop();

    expect(results.every((r) => r.applied)).toBe(true);
    expect(flushes.reduce((n, f) => n + f.writes, 0)).toBe(200);
    expect(flushes.length).toBeLessThan(200);
    for (const job of jobs) {
      const rows = await sequences(job.id);
      // job.created and job.queued came first (1, 2); then progress 1..10 in the order written.
      expect(rows.map((r) => r.sequence)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
      expect(rows.slice(2).map((r) => r.progress)).toEqual(Array.from({ length: 10 }, (_, i) => i + 1));
    }
  });

  it('keeps sequences gap-free and unique when two writers in two pools write the same jobs', async () => {
    const jobs = await createJobs(pool, workspaceId, 10);
    const other = createPool(db.url, { max: 4, applicationName: 'job-writer-test-2' });
    const a = new JobWriter({ pool, maxBatch: 7 });
    const b = new JobWriter({ pool: other, maxBatch: 5 });
    try {
      await Promise.all(
        jobs.flatMap((job) =>
          Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? a : b).write(progress(job.id, i % 100))),
        ),
      );
    } finally {
      await a.stop();
      await b.stop();
      await other.end();
    }
    for (const job of jobs) {
      const rows = await sequences(job.id);
      expect(rows.map((r) => r.sequence)).toEqual(Array.from({ length: 22 }, (_, i) => i + 1));
    }
  });

  it('isolates a bad write: its neighbours in the batch still commit', async () => {
    const [job, other] = await createJobs(pool, workspaceId, 2);
    const writer = new JobWriter({ pool, flushWindowMs: 20 });
    const good = writer.write(progress(job!.id, 50));
    const bad = writer.write({
      ...progress(other!.id, 60),
      steps: [{ stepId: job!.stepIds[0]!, status: 'RUNNING' }], // a step of another job
    });
    await expect(good).resolves.toMatchObject({ applied: true });
    await expect(bad).rejects.toThrow();
    await writer.stop();
    expect((await sequences(other!.id)).length).toBe(2);
  });

  it('calls onCommit with the stored events after the commit', async () => {
    const [job] = await createJobs(pool, workspaceId, 1);
    const committed: WriteResult[] = [];
    const writer = new JobWriter({ pool, onCommit: (results) => committed.push(...results) });
    const result = await writer.write(progress(job!.id, 10));
    await writer.stop();
    expect(committed).toHaveLength(1);
    expect(committed[0]!.events).toEqual(result.events);
    const { rows } = await pool.query('SELECT id FROM job_events WHERE id = $1', [result.events[0]!.id]);
    expect(rows).toHaveLength(1);
  });

  it('writes each write once however its callbacks fail after the commit, and answers every caller', async () => {
    const jobs = await createJobs(pool, workspaceId, 3);
    const writer = new JobWriter({
      pool,
      onFlush: () => {
        throw new Error('a metrics hook broke');
      },
      onCommit: () => {
        throw new Error('a fan-out broke');
      },
      onCommitError: () => {
        throw new Error('and so did its error handler');
      },
    });
    const results = await Promise.all(jobs.map((j) => writer.write(progress(j.id, 7))));
    await writer.stop();
    expect(results.map((r) => r.applied)).toEqual([true, true, true]);
    for (const j of jobs) expect((await sequences(j.id)).filter((e) => e.progress === 7)).toHaveLength(1);
  });

  it('flushes what is waiting on stop and refuses writes afterwards', async () => {
    const [job] = await createJobs(pool, workspaceId, 1);
    const writer = new JobWriter({ pool, flushWindowMs: 1_000 });
    const pending = writer.write(progress(job!.id, 30));
    await writer.stop();
    await expect(pending).resolves.toMatchObject({ applied: true });
    await expect(writer.write(progress(job!.id, 31))).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});
