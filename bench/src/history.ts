/**
 * A job history for benchmarks that should not run on empty tables: `n` COMPLETED standard jobs
 * (three steps, the ten events a run records), written by set-based SQL in chunks, then
 * `VACUUM ANALYZE`d as a long-lived database would be and checkpointed. `--history N` on `latency` uses it to
 * show whether latency depends on the size of `runner_jobs` and `job_events`.
 */
import type { Pool } from '@gantry/store';

const CHUNK = 20_000;

const JOBS = `
INSERT INTO runner_jobs (id, workspace_id, type, status, priority, max_attempts, backoff, timeout_ms,
  attempt, queued_at, started_at, completed_at, created_at)
SELECT gen_random_uuid(), $1, 'history', 'COMPLETED', 50, 3, '{"kind":"exponential","initialMs":1000,"maxMs":60000,"jitter":0.2}', 3600000,
  1, now(), now(), now(), now() - interval '1 hour'
FROM generate_series(1, $2)
RETURNING id`;

const STEPS = `
INSERT INTO job_steps (id, job_id, workspace_id, ordinal, name, phase, type, status)
SELECT gen_random_uuid(), j, $2, o, s.name, s.phase, 'NOOP', 'COMPLETED'
FROM unnest($1::uuid[]) AS j,
  (VALUES (0, 'setup', 'SETUP'), (1, 'execute', 'EXECUTION'), (2, 'cleanup', 'CLEANUP')) AS s(o, name, phase)`;

const EVENTS = `
INSERT INTO job_events (id, job_id, workspace_id, sequence, type, actor, attempt, payload)
SELECT gen_random_uuid(), j, $2, e.seq, e.type, 'history', 1, '{}'
FROM unnest($1::uuid[]) AS j,
  (VALUES (1, 'job.created'), (2, 'job.queued'), (3, 'job.started'), (4, 'step.started'), (5, 'step.completed'),
          (6, 'step.started'), (7, 'step.completed'), (8, 'step.started'), (9, 'step.completed'), (10, 'job.completed')) AS e(seq, type)`;

/** Writes `n` completed jobs of `workspaceId` with their steps and events. */
export async function writeHistory(pool: Pool, workspaceId: string, n: number): Promise<void> {
  for (let done = 0; done < n; done += CHUNK) {
    const { rows } = await pool.query<{ id: string }>(JOBS, [workspaceId, Math.min(CHUNK, n - done)]);
    const ids = rows.map((r) => r.id);
    await pool.query(STEPS, [ids, workspaceId]);
    await pool.query(EVENTS, [ids, workspaceId]);
  }
  await pool.query('VACUUM ANALYZE runner_jobs, job_steps, job_events');
  // The history's WAL would otherwise be checkpointed during the measured run. (Needs a
  // superuser or pg_checkpoint; without it the run is measured as it is.)
  await pool.query('CHECKPOINT').catch(() => undefined);
}
