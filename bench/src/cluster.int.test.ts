/**
 * The cluster's view of a run against the real services: when it says a job ended, and what it
 * does when the scheduler refuses a command.
 */
import { describe, expect, it } from 'vitest';
import { type Cluster, standardJob, startCluster } from './cluster.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const statusOf = async (cluster: Cluster, id: string) =>
  (await cluster.pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id])).rows[0]?.status;

/** Polls (up to 30 s) until job `id` is in `status`. */
async function untilStatus(cluster: Cluster, id: string, status: string): Promise<void> {
  const deadline = Date.now() + 30_000;
  while ((await statusOf(cluster, id)) !== status) {
    if (Date.now() > deadline) throw new Error(`job ${id} never became ${status}`);
    await sleep(10);
  }
}

describe('the bench cluster', () => {
  it('times a job to the commit of its terminal event, not to the start of the transaction that wrote it', async () => {
    const cluster = await startCluster({ workers: 1, concurrency: 1 });
    const admin = await cluster.pool.connect();
    try {
      const ws = cluster.workspaceIds[0]!;
      const [job] = await cluster.submit([{ workspaceId: ws, spec: standardJob({}, 1_500) }]);
      await untilStatus(cluster, job!.id, 'RUNNING');
      // Into the EXECUTION step's 1.5 s sleep, hold the job's row until well after the step ends:
      // the worker's terminal write waits for the lock and commits only after it is released.
      await sleep(700);
      await admin.query('BEGIN');
      await admin.query('SELECT 1 FROM runner_jobs WHERE id = $1 FOR UPDATE', [job!.id]);
      await sleep(2_500);
      const released = Date.now();
      await admin.query('COMMIT');
      await cluster.waitForTerminal(1, 30_000);
      const times = (await cluster.timings()).get(job!.id)!;
      const { rows } = await cluster.pool.query<{ at: Date }>(`SELECT created_at AS at FROM job_events WHERE job_id = $1 AND type = 'job.completed'`, [job!.id]);
      expect(await statusOf(cluster, job!.id)).toBe('COMPLETED');
      // The transaction started before the release (what created_at says), its commit after it.
      expect(rows[0]!.at.getTime()).toBeLessThan(released);
      expect(times.endObserved).toBe(true);
      expect(times.endedAt).toBeGreaterThanOrEqual(released);
      // Its start is timed to the arrival of its claim's job.started, no earlier than the claim's transaction began.
      expect(times.startObserved).toBe(true);
      expect(times.startSeenAt).toBeGreaterThanOrEqual(times.startedAt!);
      expect(times.startSeenAt).toBeLessThan(released);
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      admin.release();
      await cluster.stop();
    }
  }, 90_000);

  it('times a job’s start to the commit of its claim, not to the start of the claiming transaction', async () => {
    const cluster = await startCluster({ workers: 1, concurrency: 1 });
    const admin = await cluster.pool.connect();
    try {
      const ws = cluster.workspaceIds[0]!;
      const runAt = Date.now() + 3_000;
      const [job] = await cluster.submit([{ workspaceId: ws, spec: standardJob({ runAt: new Date(runAt).toISOString() }) }]);
      await untilStatus(cluster, job!.id, 'QUEUED');
      // The claim appends the job's third event: an uncommitted row of that sequence holds its
      // insert (the primary key) until this transaction ends, well after the run-at.
      await admin.query('BEGIN');
      await admin.query(
        `INSERT INTO job_events (job_id, sequence, id, workspace_id, type, actor, attempt) VALUES ($1, 3, gen_random_uuid(), $2, 'job.started', 'test', 1)`,
        [job!.id, ws],
      );
      await sleep(Math.max(0, runAt - Date.now()) + 2_000);
      const released = Date.now();
      await admin.query('ROLLBACK');
      await cluster.waitForTerminal(1, 30_000);
      const times = (await cluster.timings()).get(job!.id)!;
      expect(times.startedAt).toBeLessThan(released);
      expect(times.startObserved).toBe(true);
      expect(times.startSeenAt).toBeGreaterThanOrEqual(released);
    } finally {
      await admin.query('ROLLBACK').catch(() => undefined);
      admin.release();
      await cluster.stop();
    }
  }, 90_000);

  it('fails the wait for jobs at once, with the reason, when the scheduler refuses their command', async () => {
    const cluster = await startCluster({ workers: 1, concurrency: 1 });
    try {
      const ws = cluster.workspaceIds[0]!;
      // A run_at beyond Limits.maxDelayMs: the whole command is refused.
      await cluster.submit([{ workspaceId: ws, spec: standardJob({ runAt: '2100-01-01T00:00:00.000Z' }) }, { workspaceId: ws, spec: standardJob() }]);
      // Well within the test's timeout, where the wait's own is ten minutes.
      await expect(cluster.waitForTerminal(2, 600_000)).rejects.toThrow(/refused 1 command.*cmd\.submit/);
      expect(() => cluster.checkRefusals()).toThrow(/refused/);
      const { rows } = await cluster.pool.query<{ n: number }>('SELECT count(*)::int AS n FROM runner_jobs');
      expect(rows[0]!.n).toBe(0);
    } finally {
      await cluster.stop();
    }
  }, 60_000);
});
