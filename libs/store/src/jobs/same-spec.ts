/**
 * Whether a stored job is the one a spec describes, for idempotency keys: a repeated key with
 * the same job answers the original (the API) or is a no-op (a submit over NATS); with a
 * different job it is a conflict. Two jobs are the same when every field the submitter chose
 * (after defaults) is equal; key order in JSON objects and the spelling of instants do not
 * matter. The stored side is the job as submitted: its `run_at` changes once it runs (a retry's
 * backoff, a manual retry or an approval clears it), so the run-at compared is the one its
 * `job.created` event recorded.
 */
import { DEFAULT_POOL, type JobSpec } from '@gantry/contracts';
import type { Pool, PoolClient } from '../db/pool.js';

/** What a submitter chose of a stored job (the API's job view has it all). */
export interface StoredJobSpec {
  readonly workspaceId: string;
  readonly type: string;
  readonly priority: number;
  readonly pool: string;
  readonly payload: unknown;
  readonly agentTaskId: string | null;
  /** As submitted (`job.created`), not the job's `run_at` now. */
  readonly runAt: string | null;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly backoff: unknown;
  readonly steps: readonly { readonly name: string; readonly phase: string; readonly type: string; readonly spec: unknown; readonly timeoutMs: number | null }[];
}

function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value === null || typeof value !== 'object') return value;
  return Object.fromEntries(
    Object.keys(value)
      .sort()
      .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
      .map((k) => [k, canonical((value as Record<string, unknown>)[k])]),
  );
}

/**
 * An instant in milliseconds as it reads back once stored: PostgreSQL keeps microseconds,
 * rounding finer fractions half to even (its `rint`), and node-postgres cuts them to
 * milliseconds. `Date.parse` alone cuts `…00.1239995Z` to .123 where the stored job reads .124.
 */
export function storedInstant(value: string | null | undefined): number | null {
  if (value === null || value === undefined) return null;
  const fine = /\.(\d{7,})/.exec(value);
  if (!fine) return Date.parse(value);
  const micros = roundHalfEven(Number(`0.${fine[1]}`) * 1_000_000);
  return Date.parse(value.replace(fine[0], '')) + Math.floor(micros / 1_000);
}

function roundHalfEven(x: number): number {
  const floor = Math.floor(x);
  const rest = x - floor;
  if (rest !== 0.5) return Math.round(x);
  return floor % 2 === 0 ? floor : floor + 1;
}

function ofSpec(spec: JobSpec): unknown {
  return {
    type: spec.type,
    priority: spec.priority,
    pool: spec.pool ?? DEFAULT_POOL,
    payload: spec.payload,
    agentTaskId: spec.agentTaskId ?? null,
    runAt: storedInstant(spec.runAt),
    timeoutMs: spec.timeoutMs,
    maxAttempts: spec.maxAttempts,
    backoff: spec.backoff,
    steps: spec.steps.map((s) => ({ name: s.name, phase: s.phase, type: s.type, spec: s.spec, timeoutMs: s.timeoutMs ?? null })),
  };
}

function ofJob(job: StoredJobSpec): unknown {
  return {
    type: job.type,
    priority: job.priority,
    pool: job.pool,
    payload: job.payload,
    agentTaskId: job.agentTaskId,
    runAt: storedInstant(job.runAt),
    timeoutMs: job.timeoutMs,
    maxAttempts: job.maxAttempts,
    backoff: job.backoff,
    steps: job.steps.map((s) => ({ name: s.name, phase: s.phase, type: s.type, spec: s.spec, timeoutMs: s.timeoutMs })),
  };
}

/** True when `job` is what `spec` describes. */
export function isSameJob(job: StoredJobSpec, spec: JobSpec): boolean {
  return JSON.stringify(canonical(ofJob(job))) === JSON.stringify(canonical(ofSpec(spec)));
}

/** The stored jobs `ids` name, as submitted, as {@link isSameJob} compares them; an id not stored is absent. */
export async function storedJobSpecs(db: Pool | PoolClient, ids: readonly string[]): Promise<Map<string, StoredJobSpec>> {
  if (ids.length === 0) return new Map();
  const { rows } = await db.query<Omit<StoredJobSpec, 'runAt'> & { id: string; runAt: string | null }>(
    `SELECT j.id, j.workspace_id AS "workspaceId", j.type, j.priority, j.pool, j.payload, j.agent_task_id AS "agentTaskId",
       (SELECT e.payload->>'runAt' FROM job_events e WHERE e.job_id = j.id AND e.sequence = 1) AS "runAt", j.timeout_ms AS "timeoutMs",
       j.max_attempts AS "maxAttempts", j.backoff,
       COALESCE((SELECT json_agg(json_build_object('name', s.name, 'phase', s.phase, 'type', s.type, 'spec', s.spec, 'timeoutMs', s.timeout_ms) ORDER BY s.ordinal)
         FROM job_steps s WHERE s.job_id = j.id), '[]') AS steps
     FROM runner_jobs j WHERE j.id = ANY($1::uuid[])`,
    [ids],
  );
  return new Map(rows.map(({ id, ...job }) => [id, job]));
}
