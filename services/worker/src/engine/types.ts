/** The job as the engine loads it, and how an attempt can end. */
import type { BackoffPolicy, JobStatus, StepPhase, StepStatus } from '@gantry/contracts';

/** One step row, as loaded with its job. */
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

/** A job row with its steps in ordinal order. */
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

/**
 * How an attempt ended on this worker:
 * - `COMPLETED`, `FAILED`, `CANCELLED`, `WAITING`: the job moved there (rows 6, 8, 9, 15);
 * - `RETRY`, `HANDED_BACK`: the job went back to QUEUED (rows 7/12, 14);
 * - `REFUSED`: the claim was refused (a stale or duplicate dispatch);
 * - `FENCED`: a later write was refused: someone else holds the job now;
 * - `UNCLAIMED`: the worker drained before claiming;
 * - `ABANDONED`: PostgreSQL stayed unreachable; the job is left to the scheduler's recovery.
 */
export type AttemptOutcome =
  | 'COMPLETED'
  | 'FAILED'
  | 'CANCELLED'
  | 'WAITING'
  | 'RETRY'
  | 'HANDED_BACK'
  | 'REFUSED'
  | 'FENCED'
  | 'UNCLAIMED'
  | 'ABANDONED';
