/**
 * Who may send a command. NATS permissions decide who may publish on the command subjects at
 * all; inside, a command that acts on a workspace — anything but the submit of a job the API
 * already stored — carries an API token of that workspace in the `Gantry-Token` header (the API
 * forwards its caller's). The token is checked exactly as the API checks a bearer token:
 * SHA-256 of the secret, not revoked, not expired, the right workspace and the scope the
 * command needs over HTTP (`jobs:admin` to decide a gate, `jobs:write` for the rest). The
 * command's actor is then the token (`api:<token id>`, as over HTTP), not the `actor` the
 * command names: whoever may publish a command must not write another name into the events.
 *
 * One authorizer serves the leader's whole term. A token's row is read once per
 * {@link TOKEN_RECHECK_MS} at most, so a flood of commands under one token costs one query a
 * second, and a revocation or expiry takes effect within that time (the API's `AUTH_CACHE_MS`
 * does the same for HTTP). At most {@link MAX_TOKENS} rows are kept, the oldest read dropped
 * first: junk tokens cannot grow the cache.
 */
import { GantryError } from '@gantry/contracts';
import { allows, hashToken, type Pool, type TokenScope } from '@gantry/store';

interface TokenRow {
  id: string;
  workspace_id: string;
  scopes: TokenScope[];
  expires_at: Date | null;
  revoked_at: Date | null;
}

/** How long a token's row is trusted before it is read again (milliseconds). */
export const TOKEN_RECHECK_MS = 1_000;
/** Token rows kept at most. */
export const MAX_TOKENS = 10_000;

/** Checks the tokens of commands; see the module doc. */
export class CommandAuthorizer {
  readonly #pool: Pool;
  /** By token hash, in the order they were read. */
  readonly #cache = new Map<string, { readonly row: Promise<TokenRow | undefined>; readonly at: number }>();
  readonly #now: () => number;

  constructor(pool: Pool, now: () => number = Date.now) {
    this.#pool = pool;
    this.#now = now;
  }

  /**
   * Resolves with the actor of the command (`api:<token id>`) when `token` holds `scope` in
   * `workspaceId`; throws the GantryError to dead-letter with.
   */
  async authorize(token: string | undefined, workspaceId: string, scope: TokenScope = 'jobs:write'): Promise<string> {
    if (!token) throw new GantryError('UNAUTHENTICATED', 'the command carries no Gantry-Token header');
    const row = await this.#lookup(token);
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= Date.now())) {
      throw new GantryError('UNAUTHENTICATED', 'the Gantry-Token is unknown, revoked or expired');
    }
    if (row.workspace_id !== workspaceId) {
      throw new GantryError('FORBIDDEN', 'the Gantry-Token belongs to another workspace');
    }
    if (!allows(row.scopes, scope)) {
      throw new GantryError('FORBIDDEN', `the Gantry-Token lacks the ${scope} scope`);
    }
    return `api:${row.id}`;
  }

  #lookup(token: string): Promise<TokenRow | undefined> {
    const hash = hashToken(token);
    const now = this.#now();
    const cached = this.#cache.get(hash);
    if (cached && now - cached.at < TOKEN_RECHECK_MS) return cached.row;
    this.#cache.delete(hash);
    if (this.#cache.size >= MAX_TOKENS) this.#cache.delete(this.#cache.keys().next().value!);
    const row = this.#pool
      .query<TokenRow>('SELECT id, workspace_id, scopes, expires_at, revoked_at FROM api_tokens WHERE token_hash = $1', [hash])
      .then((r) => r.rows[0]);
    this.#cache.set(hash, { row, at: now });
    // A failed read is not kept: the next command reads again.
    row.catch(() => {
      if (this.#cache.get(hash)?.row === row) this.#cache.delete(hash);
    });
    return row;
  }
}
