/** What every periodic duty of the leader gets, and how a failed attempt is ended. */
import { type BackoffPolicy, hasAttemptsLeft, type JobError, type Names, type QueueReason, retryDelayMs } from '@gantry/contracts';
import type { NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '@gantry/runtime';
import { type JobWrite, type JobWriter, latestCancelReasonSql, type Pool, type WriteResult } from '@gantry/store';
import { failAttempt } from '../jobs/writes.js';
import type { Lease } from '../leadership/lease.js';
import type { SchedulerMetrics } from '../metrics.js';

export interface DutyContext {
  pool: Pool;
  writer: JobWriter;
  nc: NatsConnection;
  names: Names;
  logger: Logger;
  metrics: SchedulerMetrics;
  lease: Lease;
  wakeDispatcher: () => void;
  /**
   * Runs `fn` while no dispatch round is under way (`Dispatcher.betweenRounds`). A duty that
   * takes jobs off a worker in the database (lost workers, expired deadlines) writes inside it: a
   * round that read the worker as live before the write would count the slots it frees as
   * credit, and dispatch jobs to a worker that is gone or still busy.
   */
  betweenRounds: <T>(fn: () => Promise<T>) => Promise<T>;
}

/** A RUNNING job whose attempt ended without its worker reporting. */
export interface OrphanedJob {
  id: string;
  /** The job's type (a metric label). */
  type: string;
  attempt: number;
  failures: number;
  max_attempts: number;
  backoff: BackoffPolicy;
  step_ids: string[];
  /** A cancel was requested and not yet honoured. */
  cancel_pending: boolean;
  /** That cancel's reason, null when it gave none. */
  cancel_reason: string | null;
}

/** SQL columns that fill an {@link OrphanedJob}. */
export const ORPHAN_COLUMNS = `j.id, j.type, j.attempt, j.failures, j.max_attempts, j.backoff,
  ARRAY(SELECT s.id FROM job_steps s WHERE s.job_id = j.id ORDER BY s.ordinal) AS step_ids,
  j.cancel_requested_at IS NOT NULL AS cancel_pending,
  CASE WHEN j.cancel_requested_at IS NOT NULL THEN ${latestCancelReasonSql('j.id')} END AS cancel_reason`;

/**
 * Ends an attempt that failed without its worker: queued again (all steps reset) after the
 * job's backoff — immediately for a lost worker — while attempts are left, else FAILED. A job
 * whose cancel was requested and not yet honoured ends CANCELLED instead: it must not run again.
 */
export function attemptFailed(job: OrphanedJob, error: JobError, reason: QueueReason): JobWrite {
  if (job.cancel_pending) return cancelOrphan(job);
  const failures = job.failures + 1;
  const retry = hasAttemptsLeft(failures, job.max_attempts);
  const delay = reason === 'worker_lost' ? 0 : retryDelayMs(job.backoff, failures);
  return failAttempt(
    { id: job.id, attempt: job.attempt, failures: job.failures, maxAttempts: job.max_attempts, runAt: null },
    'RUNNING',
    error,
    { reason, retryAt: retry ? new Date(Date.now() + delay) : null, resetSteps: job.step_ids },
  );
}

/** Row 9 without its worker: a job cancelled while it ran, whose worker never reported, ends CANCELLED with the cancel's reason. */
function cancelOrphan(job: OrphanedJob): JobWrite {
  return {
    jobId: job.id,
    attempt: job.attempt,
    expect: ['RUNNING'],
    to: 'CANCELLED',
    set: { completedAt: 'now', workerId: null, deadlineAt: null },
    events: [{ type: 'job.cancelled', actor: 'scheduler', payload: { reason: job.cancel_reason, from: 'RUNNING' } }],
  };
}

/**
 * Counts the jobs the writes of a duty ended (FAILED or CANCELLED) in `gantry_jobs_finished_total`,
 * as workers count the jobs they end: the failure ratio must see a lost worker's last attempt.
 */
export function countEnded(metrics: SchedulerMetrics, jobs: readonly { readonly type: string }[], results: readonly WriteResult[]): void {
  results.forEach((r, i) => {
    if (r.applied && (r.status === 'FAILED' || r.status === 'CANCELLED')) metrics.jobEnded(jobs[i]!.type, r.status);
  });
}
