/**
 * 0002 — `failures`: how many attempts of a job have failed. `attempt` is the fencing token and
 * the dispatch id: it grows on every return to QUEUED (retry, lost worker, hand-back on drain,
 * approval), so no earlier holder can write again and every dispatch is a new `Nats-Msg-Id`.
 * `max_attempts` bounds `failures`, so a hand-back or an approval does not spend the retry
 * budget. A manual retry resets it.
 */
import { Migration } from '@mikro-orm/migrations';

export const SQL = /* sql */ `
ALTER TABLE runner_jobs ADD COLUMN failures integer NOT NULL DEFAULT 0 CHECK (failures >= 0);
`;

export class Migration0002Failures extends Migration {
  override async up(): Promise<void> {
    this.addSql(SQL);
  }
}
