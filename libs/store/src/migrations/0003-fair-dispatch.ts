/**
 * 0003 — indexes for the scheduler's fair claim. The claim walks the workspaces that have a
 * dispatchable backlog (a skip scan over `workspace_id`) and takes each one's head twice: by
 * priority (then age), and by age alone so that aging can lift a long-waiting job whatever its
 * priority. See services/scheduler/src/dispatch/claim-sql.ts.
 */
import { Migration } from '@mikro-orm/migrations';

export const SQL = /* sql */ `
-- Serves: the claim's per-workspace head by priority, and the skip scan over workspaces.
CREATE INDEX runner_jobs_backlog_ws_priority_idx ON runner_jobs (pool, workspace_id, priority DESC, queued_at, id)
  WHERE status = 'QUEUED' AND dispatched_at IS NULL;
-- Serves: the claim's per-workspace head by age (aging).
CREATE INDEX runner_jobs_backlog_ws_age_idx ON runner_jobs (pool, workspace_id, queued_at, id)
  WHERE status = 'QUEUED' AND dispatched_at IS NULL;
`;

export class Migration0003FairDispatch extends Migration {
  override async up(): Promise<void> {
    this.addSql(SQL);
  }
}
