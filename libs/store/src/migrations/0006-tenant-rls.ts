/**
 * 0006 — PostgreSQL row-level security as a second fence between workspaces (ARCHITECTURE.md,
 * invariant 8). The first fence is the `workspace_id` condition every API query carries; this
 * one holds even if a query forgets it.
 *
 * - `gantry_tenant` is a NOLOGIN role (created once per cluster, idempotently: roles are shared
 *   by every database of a cluster) with SELECT on `runner_jobs`, `job_steps` and `job_events`
 *   and nothing else.
 * - Row-level security is enabled on every table with a `workspace_id` (those three and
 *   `api_tokens`), with one policy for `gantry_tenant`: a row is visible only when its
 *   `workspace_id` equals the transaction's `gantry.workspace_id` setting. Without the setting
 *   nothing is visible; `api_tokens` has no grant at all.
 * - The API's reads run as `SET LOCAL ROLE gantry_tenant` with
 *   `set_config('gantry.workspace_id', <caller's workspace>, true)` inside a read-only transaction
 *   (services/api `jobs/tenant.ts`); both end with the transaction.
 * - Services keep their cross-workspace access: they connect as the tables' owner (or a
 *   superuser), which row-level security does not restrict (it is not FORCEd). A deployment whose
 *   services connect as another, non-owner role must give that role its own policy.
 * - When the migrating user is not a superuser, it is made a member of `gantry_tenant` so that
 *   its sessions (the services share its credentials) may assume the role.
 */
import { Migration } from '@mikro-orm/migrations';

/** The role tenant-scoped reads assume. */
export const TENANT_ROLE = 'gantry_tenant';

/** The setting (per transaction) that names the workspace a tenant-scoped read may see. */
export const TENANT_SETTING = 'gantry.workspace_id';

const TABLES = ['runner_jobs', 'job_steps', 'job_events', 'api_tokens'];
const READABLE = ['runner_jobs', 'job_steps', 'job_events'];

const policy = (table: string) => /* sql */ `
ALTER TABLE ${table} ENABLE ROW LEVEL SECURITY;
CREATE POLICY ${table}_tenant_isolation ON ${table} FOR SELECT TO ${TENANT_ROLE}
  USING (workspace_id = nullif(current_setting('${TENANT_SETTING}', true), '')::uuid);`;

export const SQL = /* sql */ `
DO $$
BEGIN
  CREATE ROLE ${TENANT_ROLE} NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- made by another database of this cluster, or by a migrator running at the same time
END $$;
DO $$
BEGIN
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    EXECUTE format('GRANT ${TENANT_ROLE} TO %I', current_user);
  END IF;
END $$;
GRANT USAGE ON SCHEMA public TO ${TENANT_ROLE};
GRANT SELECT ON ${READABLE.join(', ')} TO ${TENANT_ROLE};
${TABLES.map(policy).join('\n')}
`;

export class Migration0006TenantRls extends Migration {
  override async up(): Promise<void> {
    this.addSql(SQL);
  }
}
