/**
 * A JobWrite is the only way a job changes after it is created: a guard (the attempt the
 * writer holds, the statuses it expects), an optional move in the job state machine, column
 * changes on the job and its steps, and the events that record it. A write applies whole or
 * not at all, in one transaction with its events (ARCHITECTURE.md, invariants 2 and 4).
 */
import {
  type BackoffPolicy,
  canTransitionJob,
  type EventPayload,
  type EventType,
  type JobError,
  type JobEvent,
  type JobStatus,
  type StepPhase,
  type StepStatus,
} from '@gantry/contracts';

/** A timestamp to store: an instant, `'now'` (the transaction's time), or null to clear it. */
export type Stamp = Date | 'now' | null;

/** Columns of `runner_jobs` a write may change. */
export interface JobPatch {
  /** A new attempt: exactly one more than the guarded attempt. */
  attempt?: number;
  /** Failed attempts so far. */
  failures?: number;
  progress?: number;
  result?: unknown;
  error?: JobError | null;
  workerId?: string | null;
  runAt?: Stamp;
  dispatchedAt?: Stamp;
  /** `'timeout'`: the transaction's time plus the job's own `timeout_ms`. */
  deadlineAt?: Stamp | 'timeout';
  cancelRequestedAt?: Stamp;
  queuedAt?: Stamp;
  startedAt?: Stamp;
  completedAt?: Stamp;
}

/** Columns of one `job_steps` row a write may change. */
export interface StepPatch {
  stepId: string;
  status?: StepStatus;
  attempt?: number;
  output?: unknown;
  outputTail?: string | null;
  exitCode?: number | null;
  error?: JobError | null;
  inputTokens?: number;
  outputTokens?: number;
  durationMs?: number | null;
  startedAt?: Stamp;
  completedAt?: Stamp;
}

/** An event to append; the store assigns its id, sequence, workspace and time. */
export type EventInput = {
  [T in EventType]: {
    type: T;
    payload: EventPayload<T>;
    actor: string;
    /** The event's id; the store makes one when absent. A write that may be replayed names them. */
    id?: string;
    stepId?: string | null;
    /** Defaults to the job's attempt after the write. */
    attempt?: number;
  };
}[EventType];

export interface JobWrite {
  jobId: string;
  /** The attempt the writer holds: the fencing token. */
  attempt: number;
  /** Statuses the job must be in for the write to apply. */
  expect: readonly JobStatus[];
  /**
   * The job must carry no cancel request (`cancel_requested_at` unset). A running attempt's
   * cancel is recorded once: a second cancel that read the job before the first committed is
   * refused, and finds the request standing when it reads again.
   */
  unlessCancelRequested?: boolean;
  /** The status to move to; absent keeps the status. */
  to?: JobStatus;
  set?: JobPatch;
  steps?: readonly StepPatch[];
  events: readonly EventInput[];
  /**
   * This write may have committed before: it was sent and its answer was lost (the connection
   * broke around the commit), or the command behind it is delivered again. If its first event
   * is stored, it did: it is answered as applied, with the events it stored then, and nothing
   * is written again. Otherwise it is applied as usual. A replayed write carries the same event
   * ids each time it is sent (at least the first event's).
   */
  replay?: boolean;
  /**
   * For a replay: the last sequence of the job its writer saw before the write. Whatever the
   * write stored follows it, so the look for its first event reads only the events after it
   * (an index range), not all of the job's; a long job's writes each read a few rows, not its
   * thousands of output events. Absent: all of them are read.
   */
  replayAfter?: number;
  /**
   * Answer with the job as the write leaves it (`WriteResult.job`): what a worker needs to run
   * it, so that its claim is also its load. Such a write may not change steps or `failures`:
   * those come from the statement's snapshot, which predates the write.
   */
  load?: boolean;
}

/** One step of a {@link LoadedJob}. */
export interface LoadedStep {
  readonly id: string;
  readonly ordinal: number;
  readonly name: string;
  readonly phase: StepPhase;
  readonly type: string;
  readonly status: StepStatus;
  readonly spec: unknown;
  readonly timeoutMs: number | null;
  readonly output: unknown;
}

/** A job as a write with `load` answers it: its status and attempt after the write, its steps in ordinal order. */
export interface LoadedJob {
  readonly id: string;
  readonly workspaceId: string;
  readonly type: string;
  readonly status: JobStatus;
  readonly attempt: number;
  readonly failures: number;
  readonly maxAttempts: number;
  readonly backoff: BackoffPolicy;
  readonly timeoutMs: number;
  readonly payload: Readonly<Record<string, unknown>>;
  readonly steps: readonly LoadedStep[];
}

/** What became of a write. */
export interface WriteResult {
  /** False when the guard did not hold (stale attempt, unexpected status, unknown job). */
  applied: boolean;
  /** The job's status after the write, or as found when refused; null for an unknown job. */
  status: JobStatus | null;
  /** The job's attempt after the write, or as found when refused; null for an unknown job. */
  attempt: number | null;
  /** The stored events, in sequence order; empty when refused. */
  events: JobEvent[];
  /** The job, for an applied write that asked for it (`JobWrite.load`). */
  job?: LoadedJob;
}

/**
 * Throws a TypeError for a write that could never be right whatever the database holds:
 * a move the state machine forbids from an expected status, or an attempt that does not
 * follow the guarded one. Such a write is a bug in the caller, not a race.
 */
export function assertWellFormed(write: JobWrite): void {
  if (write.expect.length === 0) throw new TypeError(`write for job ${write.jobId} expects no status`);
  if (write.to !== undefined) {
    for (const from of write.expect) {
      if (!canTransitionJob(from, write.to)) {
        throw new TypeError(`job transition ${from} → ${write.to} is not in the state machine`);
      }
    }
  }
  if (write.replay === true && write.events[0]?.id === undefined) {
    throw new TypeError(`a replayed write for job ${write.jobId} must name its first event's id`);
  }
  if (write.load === true && ((write.steps?.length ?? 0) > 0 || write.set?.failures !== undefined)) {
    throw new TypeError(`a write for job ${write.jobId} that loads it cannot change its steps or failures`);
  }
  const next = write.set?.attempt;
  if (next !== undefined && next !== write.attempt + 1) {
    throw new TypeError(`a new attempt must be ${write.attempt + 1}, not ${next}`);
  }
}
