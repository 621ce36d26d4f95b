/**
 * 0008 — the claim's head by age orders a workspace's backlog by when each job became runnable
 * (`GREATEST(queued_at, run_at)`: its queueing, or a delay's or a retry's backoff's end when that
 * came later), as aging counts the wait. Ordered by `queued_at`, a job delayed for an hour was
 * the oldest the moment it became runnable, and aged a point for every minute it was not allowed
 * to run. See services/scheduler/src/dispatch/claim-sql.ts.
 */
import { Migration } from '@mikro-orm/migrations';

export const SQL = /* sql */ `
DROP INDEX runner_jobs_backlog_ws_age_idx;
-- Serves: the claim's per-workspace head by the time a job became runnable (aging).
CREATE INDEX runner_jobs_backlog_ws_runnable_idx ON runner_jobs (pool, workspace_id, (GREATEST(queued_at, run_at)), id)
  WHERE status = 'QUEUED' AND dispatched_at IS NULL;
`;

export class Migration0008RunnableAge extends Migration {
  override async up(): Promise<void> {
    this.addSql(SQL);
  }
}
