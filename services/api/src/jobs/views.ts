/**
 * Rows of `runner_jobs`, `job_steps` and `job_events` as the API shows them, and the same views
 * built from a freshly accepted spec (so a submit answers without reading back what it wrote).
 * The column lists here are the only place the API names those columns for reading.
 */
import {
  CURRENT_EVENT_VERSION,
  DEFAULT_POOL,
  type BackoffPolicy,
  type JobError,
  type JobEvent,
  type JobSpec,
  type JobStatus,
  type StepPhase,
  type StepStatus,
} from '@gantry/contracts';
import type { JobSummary, JobView, StepView } from '../schemas.js';
import { storedInstant } from '@gantry/store';

/** The columns of a job summary, for SELECT lists (alias `j`). */
export const JOB_SUMMARY_COLUMNS = `j.id, j.workspace_id, j.agent_task_id, j.type, j.pool, j.status, j.priority,
  j.progress, j.error, j.attempt, j.failures, j.max_attempts, j.backoff, j.idempotency_key, j.run_at, j.timeout_ms,
  j.worker_id, j.cancel_requested_at, j.deadline_at, j.created_at, j.updated_at, j.queued_at, j.started_at, j.completed_at`;

/** Every column a full job view needs. */
export const JOB_COLUMNS = `${JOB_SUMMARY_COLUMNS}, j.payload, j.result`;

/** The columns of a step view (alias `s`). */
export const STEP_COLUMNS = `s.id, s.job_id, s.ordinal, s.name, s.phase, s.type, s.status, s.spec, s.timeout_ms, s.attempt,
  s.output, s.output_tail, s.exit_code, s.error, s.input_tokens, s.output_tokens, s.duration_ms, s.started_at, s.completed_at`;

/** The columns of an event (alias `e`). */
export const EVENT_COLUMNS = `e.id, e.job_id, e.step_id, e.workspace_id, e.sequence, e.type, e.actor, e.attempt, e.payload, e.created_at`;

export interface JobRow {
  id: string;
  workspace_id: string;
  agent_task_id: string | null;
  type: string;
  pool: string;
  status: JobStatus;
  priority: number;
  progress: number;
  error: JobError | null;
  attempt: number;
  failures: number;
  max_attempts: number;
  backoff: BackoffPolicy;
  idempotency_key: string | null;
  run_at: Date | null;
  timeout_ms: number;
  worker_id: string | null;
  cancel_requested_at: Date | null;
  deadline_at: Date | null;
  created_at: Date;
  updated_at: Date;
  queued_at: Date | null;
  started_at: Date | null;
  completed_at: Date | null;
  payload?: Record<string, unknown>;
  result?: unknown;
}

export interface StepRow {
  id: string;
  job_id: string;
  ordinal: number;
  name: string;
  phase: StepPhase;
  type: string;
  status: StepStatus;
  spec: Record<string, unknown>;
  timeout_ms: number | null;
  attempt: number;
  output: unknown;
  output_tail: string | null;
  exit_code: number | null;
  error: JobError | null;
  input_tokens: number;
  output_tokens: number;
  duration_ms: number | null;
  started_at: Date | null;
  completed_at: Date | null;
}

export interface EventRow {
  id: string;
  job_id: string;
  step_id: string | null;
  workspace_id: string;
  sequence: number;
  type: JobEvent['type'];
  actor: string;
  attempt: number;
  payload: Record<string, unknown>;
  created_at: Date;
}

function iso(d: Date | null): string | null {
  return d === null ? null : d.toISOString();
}

/** A job row as a list item. */
export function jobSummary(r: JobRow): JobSummary {
  return {
    id: r.id,
    workspaceId: r.workspace_id,
    agentTaskId: r.agent_task_id,
    type: r.type,
    pool: r.pool,
    status: r.status,
    priority: r.priority,
    progress: r.progress,
    error: r.error,
    attempt: r.attempt,
    failures: r.failures,
    maxAttempts: r.max_attempts,
    backoff: r.backoff as JobSummary['backoff'],
    idempotencyKey: r.idempotency_key,
    runAt: iso(r.run_at),
    timeoutMs: r.timeout_ms,
    workerId: r.worker_id,
    cancelRequestedAt: iso(r.cancel_requested_at),
    deadlineAt: iso(r.deadline_at),
    createdAt: r.created_at.toISOString(),
    updatedAt: r.updated_at.toISOString(),
    queuedAt: iso(r.queued_at),
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
  };
}

/** A step row as the API shows it. */
export function stepView(r: StepRow): StepView {
  return {
    id: r.id,
    ordinal: r.ordinal,
    name: r.name,
    phase: r.phase,
    type: r.type,
    status: r.status,
    spec: r.spec as StepView['spec'],
    timeoutMs: r.timeout_ms,
    attempt: r.attempt,
    output: (r.output ?? null) as StepView['output'],
    outputTail: r.output_tail,
    exitCode: r.exit_code,
    error: r.error,
    inputTokens: r.input_tokens,
    outputTokens: r.output_tokens,
    durationMs: r.duration_ms,
    startedAt: iso(r.started_at),
    completedAt: iso(r.completed_at),
  };
}

/** A job row with its steps (in ordinal order) as the API shows it. */
export function jobView(r: JobRow, steps: readonly StepRow[]): JobView {
  return {
    ...jobSummary(r),
    payload: (r.payload ?? {}) as JobView['payload'],
    result: (r.result ?? null) as JobView['result'],
    steps: steps.map(stepView),
  };
}

/** An event row as the contracts' JobEvent. */
export function eventView(r: EventRow): JobEvent {
  return {
    v: CURRENT_EVENT_VERSION,
    id: r.id,
    jobId: r.job_id,
    workspaceId: r.workspace_id,
    stepId: r.step_id,
    sequence: r.sequence,
    attempt: r.attempt,
    actor: r.actor,
    at: r.created_at.toISOString(),
    type: r.type,
    payload: r.payload,
  } as JobEvent;
}

/** What a just-created PENDING job looks like, from its spec and what the insert reported. */
export function acceptedJobView(job: { id: string; workspaceId: string; spec: JobSpec; stepIds: readonly string[]; createdAt: string }): JobView {
  const { spec } = job;
  return {
    id: job.id,
    workspaceId: job.workspaceId,
    agentTaskId: spec.agentTaskId ?? null,
    type: spec.type,
    pool: spec.pool ?? DEFAULT_POOL,
    status: 'PENDING',
    priority: spec.priority,
    progress: 0,
    error: null,
    attempt: 0,
    failures: 0,
    maxAttempts: spec.maxAttempts,
    backoff: spec.backoff,
    idempotencyKey: spec.idempotencyKey ?? null,
    // As the stored job reads it back (PostgreSQL rounds past the microsecond), not cut.
    runAt: spec.runAt === undefined ? null : new Date(storedInstant(spec.runAt)!).toISOString(),
    timeoutMs: spec.timeoutMs,
    workerId: null,
    cancelRequestedAt: null,
    deadlineAt: null,
    createdAt: job.createdAt,
    updatedAt: job.createdAt,
    queuedAt: null,
    startedAt: null,
    completedAt: null,
    payload: spec.payload as JobView['payload'],
    result: null,
    steps: spec.steps.map((step, ordinal) => ({
      id: job.stepIds[ordinal]!,
      ordinal,
      name: step.name,
      phase: step.phase,
      type: step.type,
      status: 'PENDING',
      spec: step.spec as StepView['spec'],
      timeoutMs: step.timeoutMs ?? null,
      attempt: 0,
      output: null,
      outputTail: null,
      exitCode: null,
      error: null,
      inputTokens: 0,
      outputTokens: 0,
      durationMs: null,
      startedAt: null,
      completedAt: null,
    })),
  };
}
