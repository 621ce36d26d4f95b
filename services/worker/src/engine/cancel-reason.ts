/**
 * Why a running job was cancelled: the reason its canceller gave, recorded on the job's latest
 * `job.cancel_requested` event (protocol move 11). The cancel signal that reaches the worker
 * says only that it is a cancel, so the worker reads the reason when it ends the attempt
 * CANCELLED — once per cancelled job, off the hot path.
 */
import { latestCancelReasonSql, type Pool } from '@gantry/store';

const LATEST_REASON = `SELECT ${latestCancelReasonSql('$1::uuid')} AS reason`;

/** The reason of the latest cancel request of `jobId`, or null when none was given. */
export async function readCancelReason(pool: Pool, jobId: string): Promise<string | null> {
  const { rows } = await pool.query<{ reason: string | null }>(LATEST_REASON, [jobId]);
  return rows[0]?.reason ?? null;
}
