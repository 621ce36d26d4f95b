/**
 * 0005 — cheaper job creation, the hot path of submission:
 * - `runner_jobs_backlog_idx` goes: the scheduler's claim and queue gauges use the per-workspace
 *   backlog indexes of 0003;
 * - `job_steps` loses its foreign key and its unique `(job_id, name)` index: steps are created
 *   only by `insertJobs`, in the transaction that creates their job, jobs are never deleted, and
 *   step names are unique by the JobSpec schema. `(job_id, ordinal)` stays unique.
 */
import { Migration } from '@mikro-orm/migrations';

export const SQL = /* sql */ `
DROP INDEX runner_jobs_backlog_idx;
ALTER TABLE job_steps DROP CONSTRAINT job_steps_job_id_fkey;
DROP INDEX job_steps_job_name_key;
`;

export class Migration0005LeanInserts extends Migration {
  override async up(): Promise<void> {
    this.addSql(SQL);
  }
}
