/**
 * Who may send a command. NATS permissions decide who may publish on the command subjects at
 * all; inside, a command that acts on a workspace — anything but the submit of a job the API
 * already stored — carries a credential of an API token of that workspace: the token itself in
 * `Gantry-Token` (a service outside Gantry, or an API without COMMAND_SIGNING_KEY), or the API's
 * grant in `Gantry-Grant` (the caller's token id, signed with the message under the key the API
 * and the scheduler share: `command-grant.ts` in @gantry/store). The token is then checked
 * exactly as the API checks a bearer token: not revoked, not expired, the right workspace and
 * the scope the command needs over HTTP (`jobs:admin` to decide a gate, `jobs:write` for the
 * rest). The command's actor is then the token (`api:<token id>`, as over HTTP), not the `actor`
 * the command names: whoever may publish a command must not write another name into the events.
 *
 * The key can be rotated without refusing the grants in flight: the scheduler also accepts grants
 * signed with COMMAND_PREVIOUS_SIGNING_KEY, the key the current one replaced, and counts each
 * grant it accepts by the key that signed it (`onGrant`), so that an operator sees when the
 * previous key is no longer used.
 *
 * One authorizer serves the leader's whole term. A token's row is read once per
 * {@link TOKEN_RECHECK_MS} at most, so a flood of commands under one token costs one query a
 * second, and a revocation or expiry takes effect within that time (the API's `AUTH_CACHE_MS`
 * does the same for HTTP). At most {@link MAX_TOKENS} rows are kept, the oldest read dropped
 * first: junk tokens cannot grow the cache.
 */
import type { JsMsg } from '@nats-io/jetstream';
import { GantryError, Headers } from '@gantry/contracts';
import { allows, hashToken, type Pool, type TokenScope, verifyGrant } from '@gantry/store';

/** What a command carries to prove its sender may send it. */
export type CommandCredential =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'grant'; readonly grant: string; readonly data: Uint8Array };

/** The credential of a command message: its grant if it has one, else its token. */
export function credentialOf(msg: Pick<JsMsg, 'headers' | 'data'>): CommandCredential | undefined {
  const grant = msg.headers?.get(Headers.grant);
  if (grant) return { kind: 'grant', grant, data: msg.data };
  const token = msg.headers?.get(Headers.token);
  return token ? { kind: 'token', token } : undefined;
}

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

/** Which of the scheduler's keys signed a grant. */
export type GrantKey = 'current' | 'previous';

/** Options of {@link CommandAuthorizer}. */
export interface CommandAuthorizerOptions {
  /** COMMAND_SIGNING_KEY, which the API signs its grants with; empty or absent refuses every grant. */
  readonly signingKey?: string;
  /** COMMAND_PREVIOUS_SIGNING_KEY, the key `signingKey` replaced: its grants are still accepted. */
  readonly previousSigningKey?: string;
  /** Told, for each grant whose signature checks out, which key signed it. */
  readonly onGrant?: (key: GrantKey) => void;
  readonly now?: () => number;
}

/** Checks the tokens of commands; see the module doc. */
export class CommandAuthorizer {
  readonly #pool: Pool;
  /** By `hash:<token hash>` or `id:<token id>`, in the order they were read. */
  readonly #cache = new Map<string, { readonly row: Promise<TokenRow | undefined>; readonly at: number }>();
  readonly #now: () => number;
  /** The keys a grant may be signed with, the current one first. */
  readonly #keys: readonly (readonly [GrantKey, string])[];
  readonly #onGrant: ((key: GrantKey) => void) | undefined;

  constructor(pool: Pool, options: CommandAuthorizerOptions = {}) {
    this.#pool = pool;
    const { signingKey = '', previousSigningKey = '' } = options;
    this.#keys = signingKey === '' ? [] : previousSigningKey === '' ? [['current', signingKey]] : [['current', signingKey], ['previous', previousSigningKey]];
    this.#onGrant = options.onGrant;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Resolves with the actor of the command (`api:<token id>`) when its credential's token holds
   * `scope` in `workspaceId`; throws the GantryError to dead-letter with.
   */
  async authorize(credential: CommandCredential | undefined, workspaceId: string, scope: TokenScope = 'jobs:write'): Promise<string> {
    if (!credential) throw new GantryError('UNAUTHENTICATED', `the command carries neither a ${Headers.token} nor a ${Headers.grant} header`);
    const name = credential.kind === 'token' ? Headers.token : Headers.grant;
    const row = await this.#rowOf(credential);
    if (!row || row.revoked_at !== null || (row.expires_at !== null && row.expires_at.getTime() <= Date.now())) {
      throw new GantryError('UNAUTHENTICATED', `the ${name}'s token is unknown, revoked or expired`);
    }
    if (row.workspace_id !== workspaceId) {
      throw new GantryError('FORBIDDEN', `the ${name}'s token belongs to another workspace`);
    }
    if (!allows(row.scopes, scope)) {
      throw new GantryError('FORBIDDEN', `the ${name}'s token lacks the ${scope} scope`);
    }
    return `api:${row.id}`;
  }

  #rowOf(credential: CommandCredential): Promise<TokenRow | undefined> {
    if (credential.kind === 'token') {
      const hash = hashToken(credential.token);
      return this.#lookup(`hash:${hash}`, 'token_hash', hash);
    }
    if (this.#keys.length === 0) {
      throw new GantryError('UNAUTHENTICATED', `the command carries a ${Headers.grant}, but this scheduler has no COMMAND_SIGNING_KEY to check it with`);
    }
    for (const [which, key] of this.#keys) {
      const tokenId = verifyGrant(key, credential.grant, credential.data);
      if (tokenId === undefined) continue;
      this.#onGrant?.(which);
      return this.#lookup(`id:${tokenId}`, 'id', tokenId);
    }
    const keys = this.#keys.length === 1 ? 'COMMAND_SIGNING_KEY' : 'COMMAND_SIGNING_KEY or COMMAND_PREVIOUS_SIGNING_KEY';
    throw new GantryError('UNAUTHENTICATED', `the ${Headers.grant} was not signed for this command with this scheduler's ${keys}`);
  }

  /** The token row whose `column` is `value`, cached under `key`. */
  #lookup(key: string, column: 'token_hash' | 'id', value: string): Promise<TokenRow | undefined> {
    const now = this.#now();
    const cached = this.#cache.get(key);
    if (cached && now - cached.at < TOKEN_RECHECK_MS) return cached.row;
    this.#cache.delete(key);
    if (this.#cache.size >= MAX_TOKENS) this.#cache.delete(this.#cache.keys().next().value!);
    const row = this.#pool
      .query<TokenRow>(`SELECT id, workspace_id, scopes, expires_at, revoked_at FROM api_tokens WHERE ${column} = $1`, [value])
      .then((r) => r.rows[0]);
    this.#cache.set(key, { row, at: now });
    // A failed read is not kept: the next command reads again.
    row.catch(() => {
      if (this.#cache.get(key)?.row === row) this.#cache.delete(key);
    });
    return row;
  }
}
