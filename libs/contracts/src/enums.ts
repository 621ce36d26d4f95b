/**
 * The enumerations every service agrees on. Values are the strings stored in PostgreSQL and
 * carried on the wire; they never change meaning once released.
 */

/** Lifecycle of a job. See `state-machines.ts` for the allowed moves. */
export const JobStatus = {
  /** Accepted and stored; not yet handed to the scheduler's backlog. */
  PENDING: 'PENDING',
  /** In the scheduler's backlog (possibly delayed by `runAt` or a retry backoff). */
  QUEUED: 'QUEUED',
  /** Claimed by a worker for the current attempt. */
  RUNNING: 'RUNNING',
  /** Parked on a manual approval gate; holds no worker slot. */
  WAITING: 'WAITING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];
export const JOB_STATUSES = Object.values(JobStatus) as readonly JobStatus[];

/** Statuses in which a job's current attempt is over. `FAILED` and `CANCELLED` accept a manual retry. */
export const TERMINAL_JOB_STATUSES: readonly JobStatus[] = [
  JobStatus.COMPLETED,
  JobStatus.FAILED,
  JobStatus.CANCELLED,
];

/** True when `status` ends the job (until a manual retry starts a new attempt). */
export function isTerminalJobStatus(status: JobStatus): boolean {
  return TERMINAL_JOB_STATUSES.includes(status);
}

/** Phases run in this order; `CLEANUP` runs even after a failure or a cancel. */
export const StepPhase = {
  SETUP: 'SETUP',
  EXECUTION: 'EXECUTION',
  VALIDATION: 'VALIDATION',
  CLEANUP: 'CLEANUP',
} as const;
export type StepPhase = (typeof StepPhase)[keyof typeof StepPhase];
export const STEP_PHASES = Object.values(StepPhase) as readonly StepPhase[];

/** Position of a phase in the run order (SETUP = 0). */
export function phaseOrder(phase: StepPhase): number {
  return STEP_PHASES.indexOf(phase);
}

/**
 * Built-in step types. Teams may register their own handler types on workers; a custom type
 * name matches {@link CUSTOM_STEP_TYPE_PATTERN} and its spec is any JSON object.
 */
export const StepType = {
  /** A child process: an argv, or a script run by a named shell. */
  COMMAND: 'COMMAND',
  /** A call to an OpenAI-compatible chat-completions endpoint. */
  AI_ACTION: 'AI_ACTION',
  /** A quality gate: a command that must exit 0, or a manual approval. */
  GATE: 'GATE',
  /** A file or directory from the job's directory, stored in the artifact bucket. */
  ARTIFACT: 'ARTIFACT',
  /** Does nothing (optionally sleeps); measures the runner itself in benchmarks and smoke tests. */
  NOOP: 'NOOP',
} as const;
export type StepType = (typeof StepType)[keyof typeof StepType];
export const STEP_TYPES = Object.values(StepType) as readonly StepType[];

/** Names a team may give its own step types: upper snake case, 1–64 characters. */
export const CUSTOM_STEP_TYPE_PATTERN = /^[A-Z][A-Z0-9_]{0,63}$/;

/** Lifecycle of one step within the job's current attempt. */
export const StepStatus = {
  PENDING: 'PENDING',
  RUNNING: 'RUNNING',
  /** An approval gate waiting for a decision. */
  WAITING: 'WAITING',
  COMPLETED: 'COMPLETED',
  FAILED: 'FAILED',
  SKIPPED: 'SKIPPED',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];
export const STEP_STATUSES = Object.values(StepStatus) as readonly StepStatus[];
