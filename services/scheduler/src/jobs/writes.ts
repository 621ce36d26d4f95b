/**
 * The scheduler's moves of the job protocol (docs/protocol.md), as JobWrites. Each is
 * guarded by the attempt and statuses the scheduler read, so a concurrent move by a worker or
 * the API wins cleanly and this one reports `applied: false`.
 */
import type { JobError, QueueReason } from '@gantry/contracts';
import { derivedUuid, type JobWrite, skippingWaitingGate, type StepPatch } from '@gantry/store';

/** What the scheduler read of a job before deciding a move. */
export interface JobState {
  id: string;
  attempt: number;
  failures: number;
  maxAttempts: number;
  runAt: Date | null;
}

const SCHEDULER = 'scheduler';

/** Row 2: PENDING → QUEUED for its first attempt. */
export function queueSubmitted(job: JobState, actor = SCHEDULER): JobWrite {
  return {
    jobId: job.id,
    attempt: 0,
    expect: ['PENDING'],
    to: 'QUEUED',
    set: { attempt: 1, queuedAt: 'now', dispatchedAt: null },
    events: [{ type: 'job.queued', actor, payload: { attempt: 1, reason: 'submitted', runAt: job.runAt?.toISOString() ?? null } }],
  };
}

/** Rows 7/13 (and 12 when the worker did not report): the attempt failed; retry or fail. */
export function failAttempt(
  job: JobState,
  from: 'RUNNING',
  error: JobError,
  opts: { reason: QueueReason; retryAt: Date | null; resetSteps: readonly string[] },
): JobWrite {
  const failures = job.failures + 1;
  if (opts.retryAt === null) {
    return {
      jobId: job.id,
      attempt: job.attempt,
      expect: [from],
      to: 'FAILED',
      set: { failures, error, completedAt: 'now', workerId: null, deadlineAt: null },
      events: [{ type: 'job.failed', actor: SCHEDULER, payload: { error, attempts: job.attempt } }],
    };
  }
  return requeue(job, from, { reason: opts.reason, runAt: opts.retryAt, failures, error, resetSteps: opts.resetSteps });
}

/**
 * Any return to QUEUED: a new attempt (the fencing token moves on), not yet dispatched. A cancel
 * requested while the job ran or waited is kept: it may have been committed after the caller
 * read the job (a lost worker's or an overdue job's duty reads, then writes), and the claim
 * passes over a job that carries one until the reconciler cancels it (row 10). Only a retry of
 * an ended job, whose cancel was honoured or came too late, starts without it.
 */
export function requeue(
  job: JobState,
  from: 'RUNNING' | 'WAITING' | 'FAILED' | 'CANCELLED',
  opts: { reason: QueueReason; runAt: Date | null; failures?: number; error?: JobError | null; resetSteps?: readonly string[]; actor?: string },
): JobWrite {
  const attempt = job.attempt + 1;
  const steps: StepPatch[] = (opts.resetSteps ?? []).map((stepId) => ({
    stepId,
    status: 'PENDING',
    attempt,
    error: null,
    exitCode: null,
    durationMs: null,
    startedAt: null,
    completedAt: null,
  }));
  return {
    jobId: job.id,
    attempt: job.attempt,
    expect: [from],
    to: 'QUEUED',
    set: {
      attempt,
      ...(opts.failures === undefined ? {} : { failures: opts.failures }),
      ...(opts.error === undefined ? {} : { error: opts.error }),
      runAt: opts.runAt,
      queuedAt: 'now',
      dispatchedAt: null,
      workerId: null,
      deadlineAt: null,
      ...(from === 'FAILED' || from === 'CANCELLED' ? { cancelRequestedAt: null } : {}),
      completedAt: null,
    },
    steps,
    events: [
      {
        type: 'job.queued',
        actor: opts.actor ?? SCHEDULER,
        payload: {
          attempt,
          reason: opts.reason,
          runAt: opts.runAt?.toISOString() ?? null,
          ...(opts.error ? { error: opts.error } : {}),
        },
      },
    ],
  };
}

/**
 * Row 10: a job nobody runs is cancelled at once. A WAITING job's gate (`waitingStepId`, read
 * with the job) is skipped in the same write, nobody being left to decide it; its event comes
 * first, so that `job.cancelled` stays the job's last.
 */
export function cancelIdle(
  job: Pick<JobState, 'id' | 'attempt'>,
  from: 'PENDING' | 'QUEUED' | 'WAITING',
  reason: string | null,
  actor: string,
  waitingStepId: string | null,
): JobWrite {
  const cancel: JobWrite = {
    jobId: job.id,
    attempt: job.attempt,
    expect: [from],
    to: 'CANCELLED',
    set: { completedAt: 'now', dispatchedAt: null, deadlineAt: null },
    events: [{ type: 'job.cancelled', actor, payload: { reason, from } }],
  };
  return skippingWaitingGate(cancel, from === 'WAITING' ? waitingStepId : null, actor);
}

/**
 * Row 11: a running job's cancel is recorded, once per attempt (a second cancel finds the
 * request standing, and the write is refused); the signal goes to its worker after commit. The
 * event is named after the command and the write is a replay: the same command delivered again
 * once the request no longer stands (the attempt ended, the job was retried) is answered from
 * its stored event rather than applied to the job as it is now.
 */
export function requestCancel(job: JobState, reason: string | null, actor: string, commandId: string): JobWrite {
  return {
    jobId: job.id,
    attempt: job.attempt,
    expect: ['RUNNING'],
    unlessCancelRequested: true,
    set: { cancelRequestedAt: 'now' },
    events: [{ id: commandEventId(commandId, job.id), type: 'job.cancel_requested', actor, payload: { reason } }],
    replay: true,
  };
}

/**
 * The id of the first event a command's write records: named after the command and its job
 * alone, not after the event or the attempt, so that the same command delivered again finds it
 * whatever it would do now (a cancel that cancelled a parked job, delivered again after a retry
 * queued it: its write would now start with `job.cancelled`, not with the gate's `step.skipped`).
 */
function commandEventId(commandId: string, jobId: string): string {
  return derivedUuid('command', commandId, jobId);
}

/**
 * `write` as the answer to command `commandId`: its first event is named after the command and
 * the write is a replay, so the same command delivered again (its first answer lost, and the job
 * back in a status it applies to by then: a retried job that failed again) is answered from the
 * stored event instead of applied twice.
 */
export function once(write: JobWrite, commandId: string): JobWrite {
  const [first, ...rest] = write.events;
  if (!first) return write;
  return { ...write, events: [{ ...first, id: commandEventId(commandId, write.jobId) }, ...rest], replay: true };
}
