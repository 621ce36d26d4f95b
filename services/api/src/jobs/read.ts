/**
 * Reads of one job and its parts, always scoped by the caller's workspace: a job of another
 * workspace is not found, exactly like a job that does not exist (ARCHITECTURE.md, invariant 8).
 */
import { GantryError } from '@gantry/contracts';
import type { Pool, PoolClient } from '@gantry/store';
import type { EventPage, JobView } from '../schemas.js';
import {
  EVENT_COLUMNS,
  eventView,
  JOB_COLUMNS,
  jobView,
  STEP_COLUMNS,
  type EventRow,
  type JobRow,
  type StepRow,
} from './views.js';

/** A pool or a client inside a transaction. */
export type Queryable = Pool | PoolClient;

const JOB_BY_ID = `SELECT ${JOB_COLUMNS} FROM runner_jobs j WHERE j.id = $1 AND j.workspace_id = $2`;
const JOBS_BY_IDS = `SELECT ${JOB_COLUMNS} FROM runner_jobs j WHERE j.id = ANY($1::uuid[])`;
const STEPS_OF = `SELECT ${STEP_COLUMNS} FROM job_steps s WHERE s.job_id = ANY($1::uuid[]) ORDER BY s.job_id, s.ordinal`;
const EVENTS_AFTER = `SELECT ${EVENT_COLUMNS} FROM job_events e
WHERE e.job_id = $1 AND e.sequence > $2 ORDER BY e.sequence LIMIT $3`;

/** The error every read of a missing or foreign job throws. */
export function jobNotFound(jobId: string): GantryError {
  return new GantryError('NOT_FOUND', `no job ${jobId} in this workspace`);
}

/** The job row, or NOT_FOUND. */
export async function getJobRow(db: Queryable, workspaceId: string, jobId: string): Promise<JobRow> {
  const { rows } = await db.query<JobRow>(JOB_BY_ID, [jobId, workspaceId]);
  if (!rows[0]) throw jobNotFound(jobId);
  return rows[0];
}

/** The steps of `jobIds`, grouped by job, each in run order. */
export async function stepsOf(db: Queryable, jobIds: readonly string[]): Promise<Map<string, StepRow[]>> {
  const byJob = new Map<string, StepRow[]>(jobIds.map((id) => [id, []]));
  if (jobIds.length === 0) return byJob;
  const { rows } = await db.query<StepRow>(STEPS_OF, [jobIds]);
  for (const row of rows) byJob.get(row.job_id)?.push(row);
  return byJob;
}

/** The job with its steps, or NOT_FOUND. */
export async function getJobView(db: Queryable, workspaceId: string, jobId: string): Promise<JobView> {
  const row = await getJobRow(db, workspaceId, jobId);
  // The stored id: PostgreSQL matches an id in any letter case, but answers in lower case.
  const steps = await stepsOf(db, [row.id]);
  return jobView(row, steps.get(row.id) ?? []);
}

/**
 * The jobs of `jobIds` with their steps, by id (missing ones are absent), whatever their
 * workspace: only for ids the store itself matched within a workspace (idempotency keys).
 * Callers compare each view's workspace with their own.
 */
export async function jobViewsByIds(db: Queryable, jobIds: readonly string[]): Promise<Map<string, JobView>> {
  if (jobIds.length === 0) return new Map();
  const { rows } = await db.query<JobRow>(JOBS_BY_IDS, [jobIds]);
  const steps = await stepsOf(db, rows.map((r) => r.id));
  return new Map(rows.map((r) => [r.id, jobView(r, steps.get(r.id) ?? [])]));
}

/** The sequence of a job's last event, 0 when it has none (the primary key's last entry for the job). */
export async function lastSequence(db: Queryable, jobId: string): Promise<number> {
  const { rows } = await db.query<{ n: number }>('SELECT COALESCE(max(sequence), 0)::int AS n FROM job_events WHERE job_id = $1', [jobId]);
  return rows[0]!.n;
}

/**
 * Up to `limit` events of a job with a sequence above `after`, in order. The caller has checked
 * that the job belongs to its workspace.
 */
export async function eventsAfter(db: Queryable, jobId: string, after: number, limit: number): Promise<EventPage> {
  const { rows } = await db.query<EventRow>(EVENTS_AFTER, [jobId, after, limit + 1]);
  const items = rows.slice(0, limit).map(eventView);
  const more = rows.length > limit;
  return { items, nextAfter: more ? items[items.length - 1]!.sequence : null };
}
