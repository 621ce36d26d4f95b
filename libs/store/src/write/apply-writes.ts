/**
 * Applies a batch of JobWrites inside the caller's transaction with a fixed number of
 * statements, whatever the batch size:
 *
 * 1. lock the batch's jobs in id order (`FOR NO KEY UPDATE`; the same order in every process, so
 *    two batches never deadlock) and read their status and attempt; then, in a second statement
 *    whose snapshot includes every commit made before the locks were granted, their highest
 *    event sequence (while the row lock is held nobody else can append to the job);
 * 2. decide each write in submission order against the locked state (a later write of the same
 *    job sees the earlier one's effect), assigning gap-free event sequences;
 * 3. one UPDATE of the jobs that changed, one UPDATE of the steps, one COPY of the events.
 *    A write that only appends events updates no job row.
 *
 * Nothing is written for a refused write. The caller commits, then publishes the events.
 */
import { CURRENT_EVENT_VERSION, type JobEvent, type JobStatus } from '@gantry/contracts';
import type { PoolClient } from '../db/pool.js';
import { copyEvents } from '../events/copy-events.js';
import { uuidv7 } from '../ids.js';
import { assertWellFormed, type JobPatch, type JobWrite, type StepPatch, type WriteResult } from './job-write.js';
import { patchAssignments, type PatchColumn, type PatchRow, stampValue } from './patch-sql.js';

const JOB_COLUMNS: Record<keyof JobPatch | 'status', PatchColumn> = {
  status: { column: 'status', type: 'text' },
  attempt: { column: 'attempt', type: 'int' },
  failures: { column: 'failures', type: 'int' },
  progress: { column: 'progress', type: 'int' },
  result: { column: 'result', type: 'jsonb' },
  error: { column: 'error', type: 'jsonb' },
  workerId: { column: 'worker_id', type: 'text' },
  runAt: { column: 'run_at', type: 'timestamptz' },
  dispatchedAt: { column: 'dispatched_at', type: 'timestamptz' },
  deadlineAt: { column: 'deadline_at', type: 'timestamptz' },
  cancelRequestedAt: { column: 'cancel_requested_at', type: 'timestamptz' },
  queuedAt: { column: 'queued_at', type: 'timestamptz' },
  startedAt: { column: 'started_at', type: 'timestamptz' },
  completedAt: { column: 'completed_at', type: 'timestamptz' },
};

const STEP_COLUMNS: Record<Exclude<keyof StepPatch, 'stepId'>, PatchColumn> = {
  status: { column: 'status', type: 'text' },
  attempt: { column: 'attempt', type: 'int' },
  output: { column: 'output', type: 'jsonb' },
  outputTail: { column: 'output_tail', type: 'text' },
  exitCode: { column: 'exit_code', type: 'int' },
  error: { column: 'error', type: 'jsonb' },
  inputTokens: { column: 'input_tokens', type: 'int' },
  outputTokens: { column: 'output_tokens', type: 'int' },
  durationMs: { column: 'duration_ms', type: 'int' },
  startedAt: { column: 'started_at', type: 'timestamptz' },
  completedAt: { column: 'completed_at', type: 'timestamptz' },
};

const TIMESTAMP_KEYS = new Set(['runAt', 'dispatchedAt', 'deadlineAt', 'cancelRequestedAt', 'queuedAt', 'startedAt', 'completedAt']);

function updateJobsSql(rows: readonly PatchRow[]): string {
  return `UPDATE runner_jobs r SET
  ${[...patchAssignments('r', Object.values(JOB_COLUMNS), rows), 'version = r.version + 1', 'updated_at = now()'].join(',\n  ')}
FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, p jsonb)
WHERE r.id = v.id`;
}

function updateStepsSql(rows: readonly PatchRow[]): string {
  return `UPDATE job_steps s SET
  ${patchAssignments('s', Object.values(STEP_COLUMNS), rows).join(',\n  ')}
FROM jsonb_to_recordset($1::jsonb) AS v(id uuid, job_id uuid, p jsonb)
WHERE s.id = v.id AND s.job_id = v.job_id
RETURNING s.id`;
}

const LOCK_JOBS = `
SELECT id, workspace_id, status, attempt
FROM runner_jobs WHERE id = ANY($1::uuid[]) ORDER BY id FOR NO KEY UPDATE`;

// A separate statement: in READ COMMITTED a subquery of the locking SELECT would still read
// the snapshot taken before it waited for a lock, and miss the previous holder's events.
const LAST_SEQUENCES = `
SELECT j.id, (extract(epoch FROM now()) * 1000)::float8 AS tx_ms,
  COALESCE((SELECT max(e.sequence) FROM job_events e WHERE e.job_id = j.id), 0) AS last_sequence
FROM unnest($1::uuid[]) AS j(id)`;

interface LockedJob {
  workspaceId: string;
  status: JobStatus;
  attempt: number;
  seq: number;
  /** Column changes to write, keyed by SQL column; absent when nothing applied. */
  patch?: Record<string, unknown>;
}

/** Converts a JobPatch to SQL column keys, turning stamps into text. */
function toColumns(
  patch: object,
  columns: Record<string, PatchColumn>,
  into: Record<string, unknown>,
): Record<string, unknown> {
  for (const [key, value] of Object.entries(patch)) {
    const column = columns[key];
    if (column === undefined || value === undefined) continue;
    into[column.column] = TIMESTAMP_KEYS.has(key) ? stampValue(value as Date | 'now' | null) : value;
  }
  return into;
}

/** Applies `writes` in order within the caller's open transaction. See the module doc. */
export async function applyWrites(client: PoolClient, writes: readonly JobWrite[]): Promise<WriteResult[]> {
  writes.forEach(assertWellFormed);
  const ids = [...new Set(writes.map((w) => w.jobId))].sort();
  const locked = await client.query<{ id: string; workspace_id: string; status: JobStatus; attempt: number }>(
    LOCK_JOBS,
    [ids],
  );
  const last = await client.query<{ id: string; tx_ms: number; last_sequence: number }>(LAST_SEQUENCES, [
    locked.rows.map((r) => r.id),
  ]);
  const lastSequence = new Map(last.rows.map((r) => [r.id, r.last_sequence]));
  const jobs = new Map<string, LockedJob>();
  for (const r of locked.rows) {
    jobs.set(r.id, { workspaceId: r.workspace_id, status: r.status, attempt: r.attempt, seq: lastSequence.get(r.id) ?? 0 });
  }
  const at = new Date(last.rows[0]?.tx_ms ?? Date.now()).toISOString();

  const steps = new Map<string, { id: string; job_id: string; p: Record<string, unknown> }>();
  const events: JobEvent[] = [];
  const results = writes.map((write): WriteResult => {
    const job = jobs.get(write.jobId);
    if (!job || job.attempt !== write.attempt || !write.expect.includes(job.status)) {
      return { applied: false, status: job?.status ?? null, attempt: job?.attempt ?? null, events: [] };
    }
    if (write.to !== undefined) {
      job.status = write.to;
      job.patch = { ...job.patch, status: write.to };
    }
    if (write.set) job.patch = toColumns(write.set, JOB_COLUMNS, job.patch ?? {});
    if (write.set?.attempt !== undefined) job.attempt = write.set.attempt;
    for (const s of write.steps ?? []) {
      const entry = steps.get(s.stepId) ?? { id: s.stepId, job_id: write.jobId, p: {} };
      toColumns(s, STEP_COLUMNS, entry.p);
      if (Object.keys(entry.p).length > 0) steps.set(s.stepId, entry);
    }
    const stored = write.events.map((e) => {
      job.seq += 1;
      return {
        v: CURRENT_EVENT_VERSION,
        id: uuidv7(),
        jobId: write.jobId,
        workspaceId: job.workspaceId,
        stepId: e.stepId ?? null,
        sequence: job.seq,
        attempt: e.attempt ?? job.attempt,
        actor: e.actor,
        at,
        type: e.type,
        payload: e.payload,
      } as JobEvent;
    });
    events.push(...stored);
    return { applied: true, status: job.status, attempt: job.attempt, events: stored };
  });

  const jobRows = [...jobs].flatMap(([id, j]) => (j.patch ? [{ id, p: j.patch }] : []));
  if (jobRows.length > 0) await client.query(updateJobsSql(jobRows), [JSON.stringify(jobRows)]);
  if (steps.size > 0) {
    const stepRows = [...steps.values()];
    const updated = await client.query(updateStepsSql(stepRows), [JSON.stringify(stepRows)]);
    if (updated.rowCount !== steps.size) {
      throw new Error(`${steps.size - (updated.rowCount ?? 0)} step(s) in the batch do not belong to their job`);
    }
  }
  await copyEvents(client, events);
  return results;
}
