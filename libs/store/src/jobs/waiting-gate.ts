/**
 * A job WAITING on an approval gate has no worker: whoever cancels it (the API, a cancel command,
 * the reconciler) ends it in one write, and that write also skips the gate, which will never be
 * decided, so that the job's steps do not go on showing it WAITING.
 */
import type { JobWrite } from '../write/job-write.js';

/**
 * A scalar expression: the WAITING step (the gate) of the job row `job` (an alias of
 * `runner_jobs`) when the job is WAITING, else null. The step is found through `(job_id,
 * ordinal)`, only for a WAITING job.
 */
export function waitingGateSql(job: string): string {
  return `CASE WHEN ${job}.status = 'WAITING' THEN
    (SELECT s.id FROM job_steps s WHERE s.job_id = ${job}.id AND s.status = 'WAITING' LIMIT 1) END`;
}

/**
 * `cancel` (a write that ends a job CANCELLED) with the job's gate `gateStepId` (null when it
 * waits on none) SKIPPED too; its event comes first, so that `job.cancelled` stays the job's last.
 */
export function skippingWaitingGate(cancel: JobWrite, gateStepId: string | null, actor: string): JobWrite {
  if (gateStepId === null) return cancel;
  return {
    ...cancel,
    steps: [...(cancel.steps ?? []), { stepId: gateStepId, status: 'SKIPPED' }],
    events: [{ type: 'step.skipped', actor, stepId: gateStepId, payload: { reason: 'the job was cancelled' } }, ...cancel.events],
  };
}
