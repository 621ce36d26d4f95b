/**
 * The job and step state machines, as data.
 *
 * Job:
 * ```
 *   PENDING ──► QUEUED ──► RUNNING ──► COMPLETED
 *      │          ▲  │       │ │ │
 *      │          │  │       │ │ └──► FAILED ─────┐
 *      │          │  │       │ └────► WAITING     │  (manual retry)
 *      │          │  │       │        │   │       │
 *      │          │  └───────┼────────┼───┼──► CANCELLED
 *      │          └──────────┴────────┘   │       │
 *      │            (retry, lost worker,  └──► FAILED (rejected, timed out)
 *      │             drain, approval)             │
 *      └──► CANCELLED            QUEUED ◄─────────┘
 * ```
 * Every move is applied as a conditional update guarded by the expected status and the
 * job's attempt (the fencing token); see ARCHITECTURE.md, invariant 2.
 *
 * Step: `PENDING → RUNNING → COMPLETED | FAILED | WAITING`, `WAITING → COMPLETED | FAILED |
 * SKIPPED`, `PENDING → SKIPPED`, and any finished or interrupted step back to `PENDING` when a
 * new attempt starts.
 */
import { type JobStatus, StepStatus } from './enums.js';

type Machine<S extends string> = Readonly<Record<S, readonly S[]>>;

/** For each job status, the statuses it may move to. */
export const JOB_TRANSITIONS: Machine<JobStatus> = {
  PENDING: ['QUEUED', 'CANCELLED'],
  QUEUED: ['RUNNING', 'CANCELLED', 'FAILED'],
  RUNNING: ['COMPLETED', 'FAILED', 'CANCELLED', 'QUEUED', 'WAITING'],
  WAITING: ['QUEUED', 'FAILED', 'CANCELLED'],
  COMPLETED: [],
  FAILED: ['QUEUED'],
  CANCELLED: ['QUEUED'],
};

/** For each step status, the statuses it may move to. */
export const STEP_TRANSITIONS: Machine<StepStatus> = {
  PENDING: ['RUNNING', 'SKIPPED'],
  RUNNING: ['COMPLETED', 'FAILED', 'WAITING', 'PENDING'],
  WAITING: ['COMPLETED', 'FAILED', 'SKIPPED', 'PENDING'],
  COMPLETED: ['PENDING'],
  FAILED: ['PENDING'],
  SKIPPED: ['PENDING'],
};

/** True when a job may move from `from` to `to`. Staying put is not a transition. */
export function canTransitionJob(from: JobStatus, to: JobStatus): boolean {
  return JOB_TRANSITIONS[from].includes(to);
}

/** True when a step may move from `from` to `to`. */
export function canTransitionStep(from: StepStatus, to: StepStatus): boolean {
  return STEP_TRANSITIONS[from].includes(to);
}

/** The job statuses from which `to` is reachable in one move. */
export function jobStatusesLeadingTo(to: JobStatus): JobStatus[] {
  return (Object.keys(JOB_TRANSITIONS) as JobStatus[]).filter((from) => canTransitionJob(from, to));
}

/** Step statuses that mean the step will not run again in this attempt. */
export const FINISHED_STEP_STATUSES: readonly StepStatus[] = [
  StepStatus.COMPLETED,
  StepStatus.FAILED,
  StepStatus.SKIPPED,
];
