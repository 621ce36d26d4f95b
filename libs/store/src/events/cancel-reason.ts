/**
 * Why a running job was cancelled: the reason its canceller gave, recorded on the job's latest
 * `job.cancel_requested` event (protocol move 11). Whoever ends the attempt CANCELLED — its
 * worker, or the scheduler when the worker cannot — reads it from there.
 */

/** A scalar subquery: the reason of the latest cancel request of the job `jobId` names (a column or a parameter), null when none. */
export function latestCancelReasonSql(jobId: string): string {
  return `(SELECT e.payload->>'reason' FROM job_events e
    WHERE e.job_id = ${jobId} AND e.type = 'job.cancel_requested' ORDER BY e.sequence DESC LIMIT 1)`;
}
