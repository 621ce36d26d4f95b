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

/** Inserts the jobs of `$1` that `where` keeps, leaving out any whose id or idempotency key exists. */
function insertJobRows(where = ''): string {
  return `
INSERT INTO runner_jobs (id, workspace_id, agent_task_id, type, pool, status, priority, payload,
  attempt, max_attempts, backoff, idempotency_key, run_at, timeout_ms, queued_at)
SELECT v.id, v.workspace_id, v.agent_task_id, v.type, v.pool, v.status, v.priority, v.payload,
  v.attempt, v.max_attempts, v.backoff, v.idempotency_key, v.run_at, v.timeout_ms,
  -- clock_timestamp(): rows of one batch keep their order in the queue (FIFO within a priority).
  CASE WHEN v.status = 'QUEUED' THEN clock_timestamp() END
FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, workspace_id uuid, agent_task_id text, type text,
  pool text, status text, priority int, payload jsonb, attempt int, max_attempts int, backoff jsonb,
  idempotency_key text, run_at timestamptz, timeout_ms int)${where === '' ? '' : `\n${where}`}
ON CONFLICT DO NOTHING
RETURNING id`;
}

/**
 * What an insert answers: one row, not one per job — the transaction's time, and the ids it
 * inserted only when it left some out (`$n` is how many it was given). Reading a row per job
 * back cost the API ≈ 3 µs a job in `submit` (a result row and a parsed date each).
 */
function inserted(n: string, extra = ''): string {
  return `SELECT now() AS tx_now, CASE WHEN count(*) < ${n}::int THEN coalesce(json_agg(id), '[]') END AS ids${extra} FROM j`;
}

/** The answer of {@link inserted}: `ids` null when every job was inserted. */
interface Inserted {
  tx_now: Date;
  ids: string[] | null;
  /** Only from the guarded statement: true when it inserted nothing because of a foreign id. */
  foreign?: boolean;
}

/** The transaction's time as the events record it, and whether a job was inserted. */
function readInserted(row: Inserted): { at: string; wasInserted: (id: string) => boolean } {
  const ids = row.ids === null ? undefined : new Set(row.ids);
  return { at: row.tx_now.toISOString(), wasInserted: (id) => ids === undefined || ids.has(id) };
}

const INSERT_JOBS = statement('gantry_insert_jobs', `WITH j AS (${insertJobRows()}\n)\n${inserted('$2')}`);

/** Jobs at most that {@link insertJobs} creates with one statement. */
export const ONE_STATEMENT_MAX = 100;

/** The first job of `$1` whose id names a job of another workspace, if any. */
const FOREIGN_IDS = `foreign_ids AS (
  SELECT r.id FROM jsonb_to_recordset($1::jsonb) AS f(id uuid, workspace_id uuid)
  JOIN runner_jobs r ON r.id = f.id
  WHERE r.workspace_id <> f.workspace_id
  LIMIT 1
)`;

/** The columns of `job_steps` a new job's steps fill, with their types. */
const STEP_PARTS = [
  ['id', 'uuid'], ['job_id', 'uuid'], ['workspace_id', 'uuid'], ['ordinal', 'int'], ['name', 'text'],
  ['phase', 'text'], ['type', 'text'], ['spec', 'jsonb'], ['timeout_ms', 'int'],
] as const;

/** The columns of `job_events` a new job's first events fill, with their types. */
const EVENT_PARTS = [
  ['id', 'uuid'], ['job_id', 'uuid'], ['step_id', 'uuid'], ['workspace_id', 'uuid'], ['sequence', 'int'],
  ['type', 'text'], ['actor', 'text'], ['attempt', 'int'], ['payload', 'jsonb'],
] as const;

/** Inserts into `table` the rows of the JSON array `param` whose job the CTE `j` inserted. */
function insertPartsOf(table: string, param: string, columns: readonly (readonly [string, string])[]): string {
  return `INSERT INTO ${table} (${columns.map(([c]) => c).join(', ')})
  SELECT ${columns.map(([c]) => `x.${c}`).join(', ')}
  FROM jsonb_to_recordset(${param}::jsonb) AS x(${columns.map(([c, type]) => `${c} ${type}`).join(', ')})
  WHERE x.job_id IN (SELECT id FROM j)`;
}

/** Jobs, then the steps and events of the jobs it inserted; guarded: nothing at all when an id is foreign. */
function insertWithParts(guarded: boolean): string {
  return `
WITH ${guarded ? `${FOREIGN_IDS},\n` : ''}j AS (${insertJobRows(guarded ? 'WHERE NOT EXISTS (SELECT 1 FROM foreign_ids)' : '')}
),
s AS (
  ${insertPartsOf('job_steps', '$2', STEP_PARTS)}
),
e AS (
  ${insertPartsOf('job_events', '$3', EVENT_PARTS)}
)
${inserted('$4', guarded ? ', EXISTS (SELECT 1 FROM foreign_ids) AS foreign' : '')}`;
}

const INSERT_JOBS_WITH_PARTS = statement('gantry_insert_jobs_with_parts', insertWithParts(false));
const INSERT_JOBS_UNLESS_FOREIGN = statement('gantry_insert_jobs_unless_foreign', insertWithParts(true));

const STEP_COLUMNS = STEP_PARTS.map(([c]) => c);

const FIND_EXISTING = `
SELECT j.id, r.requested
FROM jsonb_to_recordset($1::jsonb) AS r(requested uuid, workspace_id uuid, idempotency_key text)
JOIN runner_jobs j ON j.id = r.requested
  OR (j.workspace_id = r.workspace_id AND j.idempotency_key = r.idempotency_key)
ORDER BY j.id = r.requested`;

/**
 * A new job's first events, each written out in full: spreading a shared base object into them
 * made objects that cost ≈ 3.5 µs a job more to build and serialise (measured in isolation),
 * and the API builds one per job it accepts.
 */
function firstEvents(job: NewJob, at: string): JobEvent[] {
  const { spec } = job;
  const created: JobEvent = {
    v: CURRENT_EVENT_VERSION,
    id: uuidv7(),
    jobId: job.id,
    workspaceId: job.workspaceId,
    stepId: null,
    sequence: 1,
    attempt: 0,
    type: 'job.created',
    actor: job.actor,
    at,
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
  };
  if (job.status !== JobStatus.QUEUED) return [created];
  const queued: JobEvent = {
    v: CURRENT_EVENT_VERSION,
    id: uuidv7(),
    jobId: job.id,
    workspaceId: job.workspaceId,
    stepId: null,
    sequence: 2,
    attempt: 1,
    type: 'job.queued',
    actor: job.actor,
    at,
    payload: { attempt: 1, reason: 'submitted', runAt: spec.runAt ?? null },
  };
  return [created, queued];
}

/** `jobs` without repeats: a repeated id within a batch is created once, as its first occurrence. */
function uniqueById(jobs: readonly NewJob[]): NewJob[] {
  const unique: NewJob[] = [];
  const seen = new Set<string>();
  for (const job of jobs) {
    if (seen.has(job.id)) continue;
    seen.add(job.id);
    unique.push(job);
  }
  return unique;
}

/** Inserts `jobs`; see the module doc. */
export async function insertJobs(db: Pool | PoolClient, jobs: readonly NewJob[]): Promise<InsertJobsResult> {
  if (jobs.length === 0) return { created: [], existing: new Map() };
  const unique = uniqueById(jobs);
  let created: CreatedJob[];
  if (unique.length <= ONE_STATEMENT_MAX) created = (await insertInOneStatement(db, unique, INSERT_JOBS_WITH_PARTS)).created;
  else if (db instanceof pg.Pool) created = await withTransaction(db, (client) => insertWithCopy(client, unique));
  else created = await insertWithCopy(db, unique);
  return { created, existing: await findExisting(db, jobs, new Set(created.map((c) => c.id))) };
}

/**
 * Like {@link insertJobs} for at most {@link ONE_STATEMENT_MAX} jobs, in one statement, unless
 * one of their ids names a job of another workspace: then it inserts nothing and answers
 * undefined. For a caller that must refuse such a batch whole (a submit command naming another
 * workspace's job) without reading the ids first: the check and the insert are one round trip.
 */
export async function insertJobsUnlessForeign(db: Pool | PoolClient, jobs: readonly NewJob[]): Promise<InsertJobsResult | undefined> {
  if (jobs.length === 0) return { created: [], existing: new Map() };
  const unique = uniqueById(jobs);
  if (unique.length > ONE_STATEMENT_MAX) throw new RangeError(`insertJobsUnlessForeign takes at most ${ONE_STATEMENT_MAX} jobs, not ${unique.length}`);
  const { created, foreign } = await insertInOneStatement(db, unique, INSERT_JOBS_UNLESS_FOREIGN);
  if (foreign) return undefined;
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

/** Jobs, steps and events in one statement (`insert`, guarded or not): the steps and events of jobs it did not insert are dropped by it. */
async function insertInOneStatement(
  db: Pool | PoolClient,
  jobs: readonly NewJob[],
  insert: typeof INSERT_JOBS_WITH_PARTS,
): Promise<{ created: CreatedJob[]; foreign: boolean }> {
  const steps: object[] = [];
  const stepIds = jobs.map((job) =>
    job.spec.steps.map((step, ordinal) => {
      const id = randomUUID();
      steps.push({ id, job_id: job.id, workspace_id: job.workspaceId, ordinal, name: step.name, phase: step.phase, type: step.type, spec: step.spec, timeout_ms: step.timeoutMs ?? null });
      return id;
    }),
  );
  // Built before the insert for their rows; their time is the transaction's, set once it is known.
  const events = jobs.map((job) => firstEvents(job, ''));
  const eventRows = events.flat().map((e) => ({
    id: e.id, job_id: e.jobId, step_id: e.stepId, workspace_id: e.workspaceId, sequence: e.sequence, type: e.type, actor: e.actor, attempt: e.attempt, payload: e.payload,
  }));
  const { rows } = await db.query<Inserted>(insert([jobRows(jobs), JSON.stringify(steps), JSON.stringify(eventRows), jobs.length]));
  const foreign = rows[0]!.foreign ?? false;
  if (foreign) return { created: [], foreign };
  const { at, wasInserted } = readInserted(rows[0]!);
  const created: CreatedJob[] = [];
  jobs.forEach((job, i) => {
    if (wasInserted(job.id)) {
      for (const e of events[i]!) e.at = at;
      created.push(createdJob(job, stepIds[i]!, events[i]!));
    }
  });
  return { created, foreign };
}

/** A multi-row INSERT and two COPYs, inside the caller's transaction. */
async function insertWithCopy(client: PoolClient, jobs: readonly NewJob[]): Promise<CreatedJob[]> {
  const { rows } = await client.query<Inserted>(INSERT_JOBS([jobRows(jobs), jobs.length]));
  const { at, wasInserted } = readInserted(rows[0]!);
  const created: CreatedJob[] = [];
  const steps: unknown[][] = [];
  const events: JobEvent[] = [];
  for (const job of jobs) {
    if (!wasInserted(job.id)) continue;
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
