/**
 * Tenant-scoped reads: the second fence between workspaces (the first is the `workspace_id`
 * condition every query carries). `tenantRead` runs its queries in one read-only transaction as
 * the database role `gantry_tenant` with `gantry.workspace_id` set to the caller's workspace,
 * so PostgreSQL's row-level security (store migration 0006) hides every other workspace's jobs,
 * steps and events even from a query that forgot its condition. Both settings are LOCAL: they
 * end with the transaction, before the connection returns to the pool.
 *
 * Cost: the BEGIN, the role and the setting travel in one round trip, plus the COMMIT; the
 * queries of a request share one connection.
 */
import { GantryError } from '@gantry/contracts';
import { type Pool, type PoolClient, TENANT_ROLE, TENANT_SETTING } from '@gantry/store';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The statements that open a tenant-scoped transaction for `workspaceId` (a UUID, checked). */
export function tenantPreamble(workspaceId: string): string {
  if (!UUID.test(workspaceId)) throw new GantryError('INTERNAL', 'a workspace id is not a UUID');
  return `BEGIN READ ONLY; SET LOCAL ROLE ${TENANT_ROLE}; SELECT set_config('${TENANT_SETTING}', '${workspaceId}', true)`;
}

/** Runs `fn` with a connection that sees only `workspaceId`'s rows; see the module doc. */
export async function tenantRead<T>(pool: Pool, workspaceId: string, fn: (db: PoolClient) => Promise<T>): Promise<T> {
  const preamble = tenantPreamble(workspaceId);
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    await client.query(preamble);
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    await client.query('ROLLBACK').catch((e: Error) => (broken = e));
    throw err;
  } finally {
    client.release(broken);
  }
}
