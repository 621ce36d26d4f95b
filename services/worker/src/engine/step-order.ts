/**
 * The run order of a job's steps: SETUP → EXECUTION → VALIDATION → CLEANUP, ordinal order
 * within a phase. Steps already COMPLETED (in an attempt that was handed back or parked) are
 * not run again; a retry resets them all before the next attempt.
 */
import { phaseOrder, type StepPhase, StepStatus } from '@gantry/contracts';

/** Steps sorted into run order (a new array; the input is untouched). */
export function runOrder<T extends { readonly phase: StepPhase; readonly ordinal: number }>(steps: readonly T[]): T[] {
  return [...steps].sort((a, b) => phaseOrder(a.phase) - phaseOrder(b.phase) || a.ordinal - b.ordinal);
}

/** True when `step` still has to run in this attempt. */
export function needsRun(step: { readonly status: StepStatus }): boolean {
  return step.status !== StepStatus.COMPLETED;
}

/** Progress in percent once `completed` of `total` steps are done: 0–99 until the job completes. */
export function progressOf(completed: number, total: number): number {
  if (total <= 0) return 0;
  return Math.min(99, Math.floor((100 * completed) / total));
}
