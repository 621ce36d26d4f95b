/**
 * Creates jobs with their steps and first events: one multi-row INSERT (for its conflict
 * handling) and two COPYs for any number of jobs, inside the caller's transaction. A job whose id or idempotency key already exists is
 * not created again; the caller learns which existing job answers for it.
 */
import { randomUUID } from 'node:crypto';
import { uuidv7 } from '../ids.js';
import { CURRENT_EVENT_VERSION, DEFAULT_POOL, type JobEvent, type JobSpec, JobStatus } from '@gantry/contracts';
import type { PoolClient } from '../db/pool.js';
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

const INSERT_JOBS = `
INSERT INTO runner_jobs (id, workspace_id, agent_task_id, type, pool, status, priority, payload,
  attempt, max_attempts, backoff, idempotency_key, run_at, timeout_ms, queued_at)
SELECT v.id, v.workspace_id, v.agent_task_id, v.type, v.pool, v.status, v.priority, v.payload,
  v.attempt, v.max_attempts, v.backoff, v.idempotency_key, v.run_at, v.timeout_ms,
  -- clock_timestamp(): rows of one batch keep their order in the queue (FIFO within a priority).
  CASE WHEN v.status = 'QUEUED' THEN clock_timestamp() END
FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, workspace_id uuid, agent_task_id text, type text,
  pool text, status text, priority int, payload jsonb, attempt int, max_attempts int, backoff jsonb,
  idempotency_key text, run_at timestamptz, timeout_ms int)
ON CONFLICT DO NOTHING
RETURNING id, now() AS tx_now`;

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

/** Inserts `jobs` within the caller's transaction. See the module doc. */
export async function insertJobs(client: PoolClient, jobs: readonly NewJob[]): Promise<InsertJobsResult> {
  if (jobs.length === 0) return { created: [], existing: new Map() };
  const inserted = await client.query<{ id: string; tx_now: Date }>(INSERT_JOBS, [
    JSON.stringify(
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
    ),
  ]);
  const createdIds = new Set(inserted.rows.map((r) => r.id));
  const at = (inserted.rows[0]?.tx_now ?? new Date()).toISOString();
  const created: CreatedJob[] = [];
  const steps: unknown[][] = [];
  const events: JobEvent[] = [];
  for (const job of jobs) {
    if (!createdIds.has(job.id)) continue;
    createdIds.delete(job.id); // a repeated id within the batch is created once
    const stepIds = job.spec.steps.map((step, ordinal) => {
      const id = randomUUID();
      steps.push([id, job.id, job.workspaceId, ordinal, step.name, step.phase, step.type, step.spec, step.timeoutMs ?? null]);
      return id;
    });
    const first = firstEvents(job, at);
    events.push(...first);
    created.push({ id: job.id, workspaceId: job.workspaceId, status: job.status, attempt: job.status === JobStatus.QUEUED ? 1 : 0, stepIds, events: first });
  }
  await copyRows(client, 'job_steps', STEP_COLUMNS, steps);
  await copyEvents(client, events);
  return { created, existing: await findExisting(client, jobs, new Set(created.map((c) => c.id))) };
}

async function findExisting(client: PoolClient, jobs: readonly NewJob[], created: Set<string>): Promise<Map<string, string>> {
  const missing = jobs.filter((j) => !created.has(j.id));
  const existing = new Map<string, string>();
  if (missing.length === 0) return existing;
  const found = await client.query<{ id: string; requested: string }>(FIND_EXISTING, [
    JSON.stringify(missing.map((j) => ({ requested: j.id, workspace_id: j.workspaceId, idempotency_key: j.spec.idempotencyKey ?? null }))),
  ]);
  // Rows matching by id come last, so an existing id wins over a matching key.
  for (const r of found.rows) existing.set(r.requested, r.id);
  return existing;
}
