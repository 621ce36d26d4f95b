/**
 * The API's answers as the CLI reads them: the fields it shows, typed. The API documents the
 * full shapes in `/openapi.json`; `--json` output passes the answers through untouched.
 */
import type { JobEvent, JobStatus, StepStatus } from '@gantry/contracts';

/** An error recorded on a job or step. */
export interface JobErrorView {
  readonly code: string;
  readonly message: string;
  readonly stepId?: string;
}

/** A job as `GET /runner-jobs` lists it. */
export interface JobSummaryView {
  readonly id: string;
  readonly agentTaskId: string | null;
  readonly type: string;
  readonly pool: string;
  readonly status: JobStatus;
  readonly priority: number;
  readonly progress: number;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly error: JobErrorView | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly completedAt: string | null;
}

/** One step of a job. */
export interface StepView {
  readonly id: string;
  readonly ordinal: number;
  readonly name: string;
  readonly phase: string;
  readonly type: string;
  readonly status: StepStatus;
  readonly attempt: number;
  readonly exitCode: number | null;
  readonly error: JobErrorView | null;
  readonly durationMs: number | null;
  readonly startedAt: string | null;
  readonly outputTail: string | null;
}

/** A job with its steps (`POST /runner-jobs`, cancel) and its first events (`GET /runner-jobs/:id`). */
export interface JobView extends JobSummaryView {
  readonly result: unknown;
  readonly steps: readonly StepView[];
  readonly events?: EventPageView;
}

/** A page of jobs. */
export interface JobPageView {
  readonly items: readonly JobSummaryView[];
  readonly nextCursor: string | null;
}

/** A page of a job's events. */
export interface EventPageView {
  readonly items: readonly JobEvent[];
  readonly nextAfter: number | null;
}

/** `GET /queue`. */
export interface QueueViewBody {
  readonly depth: number;
  readonly delayed: number;
  readonly running: number;
  readonly waiting: number;
  readonly oldestWaitSeconds: number | null;
  readonly priorities: readonly { priority: number; depth: number; delayed: number; oldestWaitSeconds: number | null }[];
}

/** `GET /workers`. */
export interface WorkersViewBody {
  readonly workers: readonly {
    workerId: string;
    pool: string;
    slots: number;
    busy: number;
    draining: boolean;
    version: string;
    startedAt: string;
    lastSeenAt: string;
  }[];
  readonly pools: readonly { pool: string; workers: number; slots: number; busy: number }[];
}

/** What retry, approve and reject answer. */
export interface CommandAcceptedView {
  readonly jobId: string;
  readonly commandId: string;
  readonly kind: string;
  readonly decision?: string;
}
