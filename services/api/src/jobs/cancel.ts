/**
 * Cancelling jobs, as the protocol has the API do it:
 * - PENDING, QUEUED or WAITING → CANCELLED at once (move 10), `job.cancelled{from}`; a WAITING
 *   job's gate is SKIPPED in the same write (`step.skipped`), nobody being left to decide it;
 * - RUNNING → `cancel_requested_at` and `job.cancel_requested` (move 11), then a CancelSignal to
 *   the worker holding the attempt; the worker aborts, runs CLEANUP and writes move 9. If the
 *   signal is lost the scheduler's reconciler re-sends it while the request stands.
 *
 * Each change is a JobWrite guarded by the attempt and status the API read; when the job moved
 * in between, the write is refused and the decision is taken again from a fresh read.
 */
import { GantryError, isGantryError, JobStatus, type CancelSignal } from '@gantry/contracts';
import { type JobWrite, skippingWaitingGate, translateDbError, waitingGateSql } from '@gantry/store';
import { sendCancelSignal } from '../commands.js';
import type { ApiDeps } from '../deps.js';
import { CANCELLABLE_STATUSES, type JobFilter } from '../schemas.js';
import { filterConditions } from './list.js';
import { getJobRow, type Queryable } from './read.js';

/** Who cancels, and why. */
export interface Canceller {
  readonly workspaceId: string;
  readonly actor: string;
  readonly requestId: string;
  readonly reason: string | null;
}

/** What a cancel did: ended the job, or asked its worker to stop it. */
export type CancelOutcome = 'cancelled' | 'requested';

/** The state of a job a cancel decides on. */
interface Target {
  readonly id: string;
  readonly status: JobStatus;
  readonly attempt: number;
  readonly worker_id: string | null;
  readonly cancel_requested_at: Date | null;
  /** A WAITING job's gate; null in any other status. */
  readonly waiting_step_id: string | null;
}

/** The columns of a {@link Target}, of `runner_jobs j`. */
const TARGET_COLUMNS = `j.id, j.status, j.attempt, j.worker_id, j.cancel_requested_at, ${waitingGateSql('j')} AS waiting_step_id`;

/** How often a single cancel re-reads a job that keeps moving under it. */
const MAX_TRIES = 5;
/** Jobs a bulk cancel reads and writes per round. */
const BULK_PAGE = 1_000;

/** The write that cancels `job`, or null when its status cannot be cancelled (terminal). */
export function cancelWrite(job: Pick<Target, 'id' | 'status' | 'attempt' | 'waiting_step_id'>, who: Pick<Canceller, 'actor' | 'reason'>): JobWrite | null {
  const base = { jobId: job.id, attempt: job.attempt, expect: [job.status] };
  switch (job.status) {
    case JobStatus.PENDING:
    case JobStatus.QUEUED:
    case JobStatus.WAITING: {
      const cancel: JobWrite = {
        ...base,
        to: JobStatus.CANCELLED,
        set: { completedAt: 'now' },
        events: [{ type: 'job.cancelled', actor: who.actor, payload: { reason: who.reason, from: job.status } }],
      };
      return skippingWaitingGate(cancel, job.status === JobStatus.WAITING ? job.waiting_step_id : null, who.actor);
    }
    case JobStatus.RUNNING:
      // Once per attempt: a cancel that raced another one here finds the request standing.
      return {
        ...base,
        unlessCancelRequested: true,
        set: { cancelRequestedAt: 'now' },
        events: [{ type: 'job.cancel_requested', actor: who.actor, payload: { reason: who.reason } }],
      };
    default:
      return null;
  }
}

/** The WAITING step of job `jobId`, or null. */
async function waitingStepOf(db: Queryable, jobId: string): Promise<string | null> {
  const { rows } = await db.query<{ id: string | null }>(`SELECT ${waitingGateSql('j')} AS id FROM runner_jobs j WHERE j.id = $1`, [jobId]);
  return rows[0]?.id ?? null;
}

function signal(deps: ApiDeps, job: Target, who: Canceller): void {
  if (job.worker_id === null) return;
  const message: CancelSignal = { v: 1, jobId: job.id, attempt: job.attempt, reason: 'cancelled' };
  sendCancelSignal(deps, job.worker_id, message, who.requestId);
}

/** Cancels one job of the workspace; NOT_FOUND, or INVALID_TRANSITION for a finished job. */
export async function cancelJob(deps: ApiDeps, jobId: string, who: Canceller): Promise<CancelOutcome> {
  for (let i = 0; i < MAX_TRIES; i++) {
    const row = await getJobRow(deps.pool, who.workspaceId, jobId);
    const job: Target = { ...row, waiting_step_id: row.status === JobStatus.WAITING ? await waitingStepOf(deps.pool, row.id) : null };
    if (job.status === JobStatus.RUNNING && job.cancel_requested_at !== null) {
      signal(deps, job, who);
      return 'requested';
    }
    const write = cancelWrite(job, who);
    if (write === null) {
      throw new GantryError('INVALID_TRANSITION', `job ${jobId} is ${job.status}; only an active job can be cancelled`);
    }
    const result = await deps.writer.write(write);
    if (!result.applied) continue;
    if (job.status === JobStatus.RUNNING) {
      signal(deps, job, who);
      return 'requested';
    }
    return 'cancelled';
  }
  // Contention, not a finished job: a 503 to retry, not a 409 to give up on.
  throw new GantryError('UNAVAILABLE', `job ${jobId} kept changing while it was being cancelled; retry`);
}

/** What a bulk cancel did. */
export interface BulkCancelCounts {
  matched: number;
  cancelled: number;
  cancelRequested: number;
}

/**
 * Cancels every active job of the workspace that `filter` selects, a page at a time in
 * (created_at, id) order so each job is considered once. A job that moved between the read and
 * its write (the scheduler queued or a worker claimed it: the write is refused) is read again
 * and cancelled as it is now, if the filter still selects it, up to {@link MAX_TRIES} times as a
 * single cancel is.
 */
export async function cancelMatching(deps: ApiDeps, filter: JobFilter, who: Canceller): Promise<BulkCancelCounts> {
  const counts: BulkCancelCounts = { matched: 0, cancelled: 0, cancelRequested: 0 };
  try {
    return await cancelPages(deps, filter, who, counts);
  } catch (err) {
    // What was cancelled before the failure stands: the answer says how much (a read of the next
    // page can fail as well as a write).
    if (err instanceof BulkCancelStopped || counts.cancelled + counts.cancelRequested === 0) throw err;
    throw new BulkCancelStopped(counts, err);
  }
}

async function cancelPages(deps: ApiDeps, filter: JobFilter, who: Canceller, counts: BulkCancelCounts): Promise<BulkCancelCounts> {
  const statuses = filter.status ?? CANCELLABLE_STATUSES;
  let after: { at: string; id: string } | undefined;
  for (;;) {
    const params: unknown[] = [];
    const where = filterConditions(who.workspaceId, { ...filter, status: statuses }, params);
    if (after) {
      params.push(after.at, after.id);
      where.push(`(j.created_at, j.id) > ($${params.length - 1}::timestamptz, $${params.length}::uuid)`);
    }
    const { rows } = await deps.pool.query<Target & { cursor_at: string }>(
      `SELECT ${TARGET_COLUMNS},
         to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') AS cursor_at
       FROM runner_jobs j WHERE ${where.join(' AND ')} ORDER BY j.created_at, j.id LIMIT ${BULK_PAGE}`,
      params,
    );
    counts.matched += rows.length;
    let batch: readonly Target[] = rows;
    for (let tries = 0; batch.length > 0 && tries < MAX_TRIES; tries++) {
      const moved = await cancelEach(deps, batch, who, counts);
      if (moved.length === 0) break;
      const again: unknown[] = [];
      const conditions = filterConditions(who.workspaceId, { ...filter, status: statuses }, again);
      again.push(moved);
      batch = (await deps.pool.query<Target>(
        `SELECT ${TARGET_COLUMNS} FROM runner_jobs j
         WHERE ${conditions.join(' AND ')} AND j.id = ANY($${again.length}::uuid[])`,
        again,
      )).rows;
    }
    if (rows.length < BULK_PAGE) return counts;
    const last = rows[rows.length - 1]!;
    after = { at: last.cursor_at, id: last.id };
  }
}

/** Cancels `jobs` as read, counting into `counts`; answers the ids of those that moved meanwhile. */
async function cancelEach(deps: ApiDeps, jobs: readonly Target[], who: Canceller, counts: BulkCancelCounts): Promise<string[]> {
  const pending: { job: Target; write: JobWrite }[] = [];
  for (const job of jobs) {
    if (job.status === JobStatus.RUNNING && job.cancel_requested_at !== null) {
      counts.cancelRequested += 1;
      signal(deps, job, who);
      continue;
    }
    const write = cancelWrite(job, who);
    if (write) pending.push({ job, write });
  }
  // Each write on its own: the writer commits them in several transactions, and one that fails
  // (PostgreSQL gone) does not undo the others. Those are counted, and their workers told.
  const results = await Promise.allSettled(pending.map((p) => deps.writer.write(p.write)));
  const moved: string[] = [];
  let failure: unknown;
  results.forEach((settled, i) => {
    const { job } = pending[i]!;
    if (settled.status === 'rejected') failure ??= settled.reason;
    else if (!settled.value.applied) moved.push(job.id);
    else if (job.status === JobStatus.RUNNING) {
      counts.cancelRequested += 1;
      signal(deps, job, who);
    } else counts.cancelled += 1;
  });
  if (failure !== undefined) throw new BulkCancelStopped(counts, failure);
  return moved;
}

/**
 * A bulk cancel that could not finish: what it did stands (each job's cancel is a write of its
 * own), and the answer says how much that was. Repeating the request cancels the rest.
 */
export class BulkCancelStopped extends GantryError {
  constructor(counts: BulkCancelCounts, cause: unknown) {
    // A driver's error (a page's read) as the API answers any: PostgreSQL gone or busy is a 503 to
    // retry. Anything else (a fault here) is an internal error, without its text.
    const fromDriver = isGantryError(cause) || typeof (cause as { code?: unknown } | null)?.code === 'string';
    const failure = fromDriver ? translateDbError(cause) : new GantryError('INTERNAL', 'internal error');
    super(
      failure.code,
      `the bulk cancel stopped after cancelling ${counts.cancelled} jobs and requesting the cancel of ${counts.cancelRequested} running ones: ${failure.message}; repeat the request to cancel the rest`,
      { cause },
    );
  }
}
