/**
 * Who may send a command. NATS permissions decide who may publish on the command subjects at
 * all; inside, a command that acts on a workspace — anything but the submit of a job the API
 * already stored — carries an API token of that workspace in the `Gantry-Token` header (the API
 * forwards its caller's). The token is checked exactly as the API checks a bearer token:
 * SHA-256 of the secret, not revoked, not expired, the right workspace and scope.
 */
import { GantryError } from '@gantry/contracts';
import { allows, hashToken, type Pool, type TokenScope } from '@gantry/store';

interface TokenRow {
  workspace_id: string;
  scopes: TokenScope[];
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** Checks tokens for one batch of commands, asking PostgreSQL once per distinct token. */
export class CommandAuthorizer {
  readonly #pool: Pool;
  readonly #cache = new Map<string, Promise<TokenRow | undefined>>();

  constructor(pool: Pool) {
    this.#pool = pool;
  }

  /** Resolves when `token` may write to `workspaceId`; throws the GantryError to dead-letter with. */
  async authorize(token: string | undefined, workspaceId: string): Promise<void> {
    if (!token) throw new GantryError('UNAUTHENTICATED', 'the command carries no Gantry-Token header');
    const row = await this.#lookup(token);
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= Date.now())) {
      throw new GantryError('UNAUTHENTICATED', 'the Gantry-Token is unknown, revoked or expired');
    }
    if (row.workspace_id !== workspaceId) {
      throw new GantryError('FORBIDDEN', 'the Gantry-Token belongs to another workspace');
    }
    if (!allows(row.scopes, 'jobs:write')) {
      throw new GantryError('FORBIDDEN', 'the Gantry-Token lacks the jobs:write scope');
    }
  }

  #lookup(token: string): Promise<TokenRow | undefined> {
    const hash = hashToken(token);
    let found = this.#cache.get(hash);
    if (!found) {
      found = this.#pool
        .query<TokenRow>('SELECT workspace_id, scopes, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1', [hash])
        .then((r) => r.rows[0]);
      this.#cache.set(hash, found);
    }
    return found;
  }
}
