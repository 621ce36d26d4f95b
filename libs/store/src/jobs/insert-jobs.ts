/**
 * Creates jobs with their steps and first events. A job whose id or idempotency key already
 * exists is not created again; the caller learns which existing job answers for it.
 *
 * - Up to {@link ONE_STATEMENT_MAX} jobs: one statement (a named one) inserts the jobs, then
 *   the steps and events of the jobs it inserted — one round trip, and on a pool its own
 *   transaction. Submissions a few at a time (a busy API's single POSTs, a scheduler pass at a
 *   steady rate) are the common case, and there round trips, not rows, are the cost.
 * - More: one multi-row INSERT (for its conflict handling) and two COPYs, in one transaction
 *   (the caller's, or one of its own on a pool).
 *
 * Pass a pool to commit on its own, or a client inside the caller's transaction.
 */
import { randomUUID } from 'node:crypto';
import { uuidv7 } from '../ids.js';
import { CURRENT_EVENT_VERSION, DEFAULT_POOL, type JobEvent, type JobSpec, JobStatus } from '@gantry/contracts';
import pg from 'pg';
import { type Pool, type PoolClient, withTransaction } from '../db/pool.js';
import { statement } from '../db/statement.js';
import { copyEvents } from '../events/copy-events.js';
import { copyRows } from '../events/copy-rows.js';

export interface NewJob {
  id: string;
  workspaceId: string;
  spec: JobSpec;
  /** PENDING (the scheduler queues it) or QUEUED (queued at once, attempt 1). */
  status: typeof JobStatus.PENDING | typeof JobStatus.QUEUED;
  /** Who created it, recorded on its events. */
  actor: string;
}

export interface CreatedJob {
  id: string;
  workspaceId: string;
  status: JobStatus;
  attempt: number;
  stepIds: string[];
  events: JobEvent[];
}

export interface InsertJobsResult {
  created: CreatedJob[];
  /** Jobs not created because their id or idempotency key exists: requested id → existing id. */
  existing: Map<string, string>;
}

/** Inserts the jobs of `$1`, leaving out any whose id or idempotency key exists. */
const INSERT_JOB_ROWS = `
INSERT INTO runner_jobs (id, workspace_id, agent_task_id, type, pool, status, priority, payload,
  attempt, max_attempts, backoff, idempotency_key, run_at, timeout_ms, queued_at)
SELECT v.id, v.workspace_id, v.agent_task_id, v.type, v.pool, v.status, v.priority, v.payload,
  v.attempt, v.max_attempts, v.backoff, v.idempotency_key, v.run_at, v.timeout_ms,
  -- clock_timestamp(): rows of one batch keep their order in the queue (FIFO within a priority).
  CASE WHEN v.status = 'QUEUED' THEN clock_timestamp() END
FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, workspace_id uuid, agent_task_id text, type text,
  pool text, status text, priority int, payload jsonb, attempt int, max_attempts int, backoff jsonb,
  idempotency_key text, run_at timestamptz, timeout_ms int)
ON CONFLICT DO NOTHING`;

const INSERT_JOBS = statement('gantry_insert_jobs', `${INSERT_JOB_ROWS}\nRETURNING id, now() AS tx_now`);

/** Jobs at most that {@link insertJobs} creates with one statement. */
export const ONE_STATEMENT_MAX = 100;

const INSERT_JOBS_WITH_PARTS = statement('gantry_insert_jobs_with_parts', `
WITH j AS (${INSERT_JOB_ROWS}
  RETURNING id
),
s AS (
  INSERT INTO job_steps (id, job_id, workspace_id, ordinal, name, phase, type, spec, timeout_ms)
  SELECT x.id, x.job_id, x.workspace_id, x.ordinal, x.name, x.phase, x.type, x.spec, x.timeout_ms
  FROM jsonb_to_recordset($2::jsonb) AS x(id uuid, job_id uuid, workspace_id uuid, ordinal int,
    name text, phase text, type text, spec jsonb, timeout_ms int)
  WHERE x.job_id IN (SELECT id FROM j)
),
e AS (
  INSERT INTO job_events (id, job_id, step_id, workspace_id, sequence, type, actor, attempt, payload)
  SELECT x.id, x.job_id, x.step_id, x.workspace_id, x.sequence, x.type, x.actor, x.attempt, x.payload
  FROM jsonb_to_recordset($3::jsonb) AS x(id uuid, job_id uuid, step_id uuid, workspace_id uuid,
    sequence int, type text, actor text, attempt int, payload jsonb)
  WHERE x.job_id IN (SELECT id FROM j)
)
SELECT id, now() AS tx_now FROM j`);

const STEP_COLUMNS = ['id', 'job_id', 'workspace_id', 'ordinal', 'name', 'phase', 'type', 'spec', 'timeout_ms'] as const;

const FIND_EXISTING = `
SELECT j.id, r.requested
FROM jsonb_to_recordset($1::jsonb) AS r(requested uuid, workspace_id uuid, idempotency_key text)
JOIN runner_jobs j ON j.id = r.requested
  OR (j.workspace_id = r.workspace_id AND j.idempotency_key = r.idempotency_key)
ORDER BY j.id = r.requested`;

function firstEvents(job: NewJob, at: string): JobEvent[] {
  const base = { v: CURRENT_EVENT_VERSION, jobId: job.id, workspaceId: job.workspaceId, stepId: null, actor: job.actor, at } as const;
  const { spec } = job;
  const events: JobEvent[] = [
    {
      ...base,
      id: uuidv7(),
      sequence: 1,
      attempt: 0,
      type: 'job.created',
      payload: {
        type: spec.type,
        priority: spec.priority,
        pool: spec.pool ?? DEFAULT_POOL,
        stepCount: spec.steps.length,
        maxAttempts: spec.maxAttempts,
        timeoutMs: spec.timeoutMs,
        runAt: spec.runAt ?? null,
        idempotencyKey: spec.idempotencyKey ?? null,
        agentTaskId: spec.agentTaskId ?? null,
      },
    },
  ];
  if (job.status === JobStatus.QUEUED) {
    events.push({
      ...base,
      id: uuidv7(),
      sequence: 2,
      attempt: 1,
      type: 'job.queued',
      payload: { attempt: 1, reason: 'submitted', runAt: spec.runAt ?? null },
    });
  }
  return events;
}

/** Inserts `jobs`; see the module doc. */
export async function insertJobs(db: Pool | PoolClient, jobs: readonly NewJob[]): Promise<InsertJobsResult> {
  if (jobs.length === 0) return { created: [], existing: new Map() };
  // A repeated id within the batch is created once, as its first occurrence.
  const unique: NewJob[] = [];
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    unique.push(job);
  }
  let created: CreatedJob[];
  if (unique.length <= ONE_STATEMENT_MAX) created = await insertInOneStatement(db, unique);
  else if (db instanceof pg.Pool) created = await withTransaction(db, (client) => insertWithCopy(client, unique));
  else created = await insertWithCopy(db, unique);
  return { created, existing: await findExisting(db, jobs, new Set(created.map((c) => c.id))) };
}

function jobRows(jobs: readonly NewJob[]): string {
  return JSON.stringify(
    jobs.map((j) => ({
      id: j.id,
      workspace_id: j.workspaceId,
      agent_task_id: j.spec.agentTaskId ?? null,
      type: j.spec.type,
      pool: j.spec.pool ?? DEFAULT_POOL,
      status: j.status,
      priority: j.spec.priority,
      payload: j.spec.payload,
      attempt: j.status === JobStatus.QUEUED ? 1 : 0,
      max_attempts: j.spec.maxAttempts,
      backoff: j.spec.backoff,
      idempotency_key: j.spec.idempotencyKey ?? null,
      run_at: j.spec.runAt ?? null,
      timeout_ms: j.spec.timeoutMs,
    })),
  );
}

function createdJob(job: NewJob, stepIds: string[], events: JobEvent[]): CreatedJob {
  return { id: job.id, workspaceId: job.workspaceId, status: job.status, attempt: job.status === JobStatus.QUEUED ? 1 : 0, stepIds, events };
}

/** Jobs, steps and events in one statement: the steps and events of jobs it did not insert are dropped by it. */
async function insertInOneStatement(db: Pool | PoolClient, jobs: readonly NewJob[]): Promise<CreatedJob[]> {
  const steps: object[] = [];
  const stepIds = jobs.map((job) =>
    job.spec.steps.map((step, ordinal) => {
      const id = randomUUID();
      steps.push({ id, job_id: job.id, workspace_id: job.workspaceId, ordinal, name: step.name, phase: step.phase, type: step.type, spec: step.spec, timeout_ms: step.timeoutMs ?? null });
      return id;
    }),
  );
  // Built before the insert for their rows; their time is the transaction's, known after it.
  const events = jobs.map((job) => firstEvents(job, ''));
  const eventRows = events.flat().map((e) => ({
    id: e.id, job_id: e.jobId, step_id: e.stepId, workspace_id: e.workspaceId, sequence: e.sequence, type: e.type, actor: e.actor, attempt: e.attempt, payload: e.payload,
  }));
  const inserted = await db.query<{ id: string; tx_now: Date }>(INSERT_JOBS_WITH_PARTS([jobRows(jobs), JSON.stringify(steps), JSON.stringify(eventRows)]));
  if (inserted.rows.length === 0) return [];
  const createdIds = new Set(inserted.rows.map((r) => r.id));
  const at = inserted.rows[0]!.tx_now.toISOString();
  const created: CreatedJob[] = [];
  jobs.forEach((job, i) => {
    if (createdIds.has(job.id)) created.push(createdJob(job, stepIds[i]!, events[i]!.map((e) => ({ ...e, at }))));
  });
  return created;
}

/** A multi-row INSERT and two COPYs, inside the caller's transaction. */
async function insertWithCopy(client: PoolClient, jobs: readonly NewJob[]): Promise<CreatedJob[]> {
  const inserted = await client.query<{ id: string; tx_now: Date }>(INSERT_JOBS([jobRows(jobs)]));
  const createdIds = new Set(inserted.rows.map((r) => r.id));
  const at = (inserted.rows[0]?.tx_now ?? new Date()).toISOString();
  const created: CreatedJob[] = [];
  const steps: unknown[][] = [];
  const events: JobEvent[] = [];
  for (const job of jobs) {
    if (!createdIds.has(job.id)) continue;
    const stepIds = job.spec.steps.map((step, ordinal) => {
      const id = randomUUID();
      steps.push([id, job.id, job.workspaceId, ordinal, step.name, step.phase, step.type, step.spec, step.timeoutMs ?? null]);
      return id;
    });
    const first = firstEvents(job, at);
    events.push(...first);
    created.push(createdJob(job, stepIds, first));
  }
  await copyRows(client, 'job_steps', STEP_COLUMNS, steps);
  await copyEvents(client, events);
  return created;
}

async function findExisting(db: Pool | PoolClient, jobs: readonly NewJob[], created: Set<string>): Promise<Map<string, string>> {
  const missing = jobs.filter((j) => !created.has(j.id));
  const existing = new Map<string, string>();
  if (missing.length === 0) return existing;
  const found = await db.query<{ id: string; requested: string }>(FIND_EXISTING, [
    JSON.stringify(missing.map((j) => ({ requested: j.id, workspace_id: j.workspaceId, idempotency_key: j.spec.idempotencyKey ?? null }))),
  ]);
  // Rows matching by id come last, so an existing id wins over a matching key.
  for (const r of found.rows) existing.set(r.requested, r.id);
  return existing;
}
