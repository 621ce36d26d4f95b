/**
 * 0007 — an index of the idle jobs that carry a cancel request not yet honoured. A cancel of a
 * RUNNING job is a request (`cancel_requested_at`) its worker honours; a worker whose retry,
 * hand-back or approval park committed just after the request leaves the job QUEUED or WAITING
 * with the request still on it. The scheduler's reconciler finds those through this index
 * (nearly always empty) and cancels them. See services/scheduler/src/maintenance/reconciler.ts.
 */
import { Migration } from '@mikro-orm/migrations';

export const SQL = /* sql */ `
-- Serves: the reconciler's idle jobs with a pending cancel.
CREATE INDEX runner_jobs_cancel_pending_idx ON runner_jobs (id)
  WHERE cancel_requested_at IS NOT NULL AND status IN ('QUEUED', 'WAITING');
`;

export class Migration0007PendingCancels extends Migration {
  override async up(): Promise<void> {
    this.addSql(SQL);
  }
}
