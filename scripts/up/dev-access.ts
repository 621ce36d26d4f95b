/**
 * The `dev` workspace and its token, for `npm run up`: created once, reused afterwards. The
 * token's secret is kept in the state directory (mode 600) so that a second `up` prints the same
 * one; a token that was revoked or deleted is replaced.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hashToken, mintToken, type Pool } from '@gantry/store';

export interface DevAccess {
  workspaceId: string;
  token: string;
  /** False when both already existed. */
  created: boolean;
}

export async function ensureDevAccess(pool: Pool, stateDir: string): Promise<DevAccess> {
  const { rows } = await pool.query<{ id: string }>(
    `INSERT INTO workspaces (name) VALUES ('dev') ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name RETURNING id`,
  );
  const workspaceId = rows[0]!.id;
  const file = join(stateDir, 'dev-token');
  if (existsSync(file)) {
    const token = readFileSync(file, 'utf8').trim();
    const found = await pool.query(
      `SELECT 1 FROM api_tokens WHERE token_hash = $1 AND workspace_id = $2 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())`,
      [hashToken(token), workspaceId],
    );
    if (found.rowCount) return { workspaceId, token, created: false };
  }
  const minted = mintToken();
  await pool.query(
    `INSERT INTO api_tokens (workspace_id, name, token_hash, prefix, scopes) VALUES ($1, 'dev (npm run up)', $2, $3, $4)`,
    [workspaceId, minted.hash, minted.prefix, ['jobs:read', 'jobs:write', 'jobs:admin']],
  );
  mkdirSync(stateDir, { recursive: true });
  writeFileSync(file, `${minted.token}\n`, { mode: 0o600 });
  return { workspaceId, token: minted.token, created: true };
}
