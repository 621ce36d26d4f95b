/**
 * A job WAITING on an approval gate has no worker: whoever cancels it (the API, a cancel command,
 * the reconciler) ends it in one write, and that write also skips the gate, which will never be
 * decided, so that the job's steps do not go on showing it WAITING.
 */
import type { EventInput, StepPatch } from '../write/job-write.js';

/** A scalar subquery: the step of the job `jobId` names (a column or a parameter) that is WAITING, null when none. */
export function waitingStepSql(jobId: string): string {
  return `(SELECT s.id FROM job_steps s WHERE s.job_id = ${jobId} AND s.status = 'WAITING' LIMIT 1)`;
}

/** What a write that cancels a WAITING job adds for its gate `stepId`: the step SKIPPED, and the event that says so. */
export function skipWaitingGate(stepId: string, actor: string): { step: StepPatch; event: EventInput } {
  return {
    step: { stepId, status: 'SKIPPED' },
    event: { type: 'step.skipped', actor, stepId, payload: { reason: 'the job was cancelled' } },
  };
}
