/**
 * Factories for test rows: a workspace, a job spec, jobs inserted through the store's own
 * insert path (so tests exercise the code services use).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { JobSpec, type JobSpecInput, parseWith } from '@gantry/contracts';
import { type CreatedJob, hashToken, insertJobs, type NewJob, type Pool } from '@gantry/store';

/** Inserts a workspace and returns its id. */
export async function createWorkspace(pool: Pool, name = `ws-${randomBytes(4).toString('hex')}`): Promise<string> {
  const { rows } = await pool.query<{ id: string }>('INSERT INTO workspaces (name) VALUES ($1) RETURNING id', [name]);
  return rows[0]!.id;
}

/** A valid job spec: SETUP, EXECUTION and CLEANUP no-op steps unless `overrides` say otherwise. */
export function jobSpec(overrides: Partial<JobSpecInput> = {}): JobSpec {
  return parseWith(JobSpec, {
    type: 'test',
    steps: [
      { name: 'setup', phase: 'SETUP', type: 'NOOP' },
      { name: 'execute', phase: 'EXECUTION', type: 'NOOP' },
      { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
    ],
    ...overrides,
  });
}

/** Inserts `count` jobs of `spec` in `status` and returns them. */
export async function createJobs(
  pool: Pool,
  workspaceId: string,
  count = 1,
  options: { spec?: JobSpec; status?: NewJob['status'] } = {},
): Promise<CreatedJob[]> {
  const spec = options.spec ?? jobSpec();
  const jobs: NewJob[] = Array.from({ length: count }, () => ({
    id: randomUUID(),
    workspaceId,
    spec,
    status: options.status ?? 'QUEUED',
    actor: 'test',
  }));
  const { created } = await insertJobs(pool, jobs);
  return created;
}

/** Inserts an API token of `workspaceId` and returns its secret (stored, as always, hashed). */
export async function createToken(
  pool: Pool,
  workspaceId: string,
  options: { scopes?: string[]; expiresAt?: Date | null; revoked?: boolean } = {},
): Promise<string> {
  const secret = `gty_test_${randomBytes(16).toString('hex')}`;
  await pool.query(
    `INSERT INTO api_tokens (workspace_id, name, token_hash, prefix, scopes, expires_at, revoked_at)
     VALUES ($1, 'test', $2, $3, $4, $5, CASE WHEN $6 THEN now() END)`,
    [
      workspaceId,
      hashToken(secret),
      secret.slice(0, 12),
      options.scopes ?? ['jobs:read', 'jobs:write'],
      options.expiresAt ?? null,
      options.revoked ?? false,
    ],
  );
  return secret;
}
