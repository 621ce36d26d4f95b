/**
 * Bearer-token authentication: `Authorization: Bearer <token>` → the token's workspace and
 * scopes. The token is looked up by its SHA-256 (see `tokens.ts` in @gantry/store); an unknown, revoked or
 * expired token is refused alike. A verified answer is cached for `cacheMs` (and never past the
 * token's expiry), so a hot client costs no query per request; a revocation therefore takes
 * effect within `cacheMs`. Each lookup records the token's last use. Refusals are cached apart,
 * in a smaller map: a caller sending unknown tokens by the thousand pushes out only other
 * refusals, never the verified tokens of everyone else. The tokens verified within the hour are
 * remembered apart (`recentlyVerified`), so that a client address over its budget of failed
 * authentications (`http/auth-hook.ts`) still gets its known tokens looked up.
 */
import { GantryError } from '@gantry/contracts';
import type { Pool } from '@gantry/store';
import { hashToken, looksLikeToken, type TokenScope } from '@gantry/store';

/** Who is calling: the token and the workspace every query of the request is scoped by. */
export interface Principal {
  readonly tokenId: string;
  readonly workspaceId: string;
  readonly scopes: readonly TokenScope[];
}

/** Options of {@link createAuthenticator}. */
export interface AuthenticatorOptions {
  readonly pool: Pool;
  /** How long an answer is reused; 0 looks up every request. */
  readonly cacheMs: number;
  /** Verified tokens kept at most; default 10,000. Refusals are kept apart, a tenth as many (at least one). */
  readonly maxEntries?: number;
  /** Wall clock in milliseconds; default `Date.now`. */
  readonly now?: () => number;
}

/** Resolves bearer tokens to principals. */
export interface Authenticator {
  /** The principal of an `Authorization` header value; throws UNAUTHENTICATED. */
  authenticate(authorization: string | undefined): Promise<Principal>;
  /** The principal of a token verified within the cache time, without a lookup; else undefined. */
  cached(authorization: string | undefined): Principal | undefined;
  /** True for a token verified within the last hour (it may have been revoked since: look it up). */
  recentlyVerified(authorization: string | undefined): boolean;
}

interface Entry {
  readonly principal: Principal | null;
  readonly until: number;
}

const LOOKUP = `
UPDATE api_tokens SET last_used_at = now()
WHERE token_hash = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > now())
RETURNING id, workspace_id, scopes, expires_at`;

const BEARER = /^Bearer\s+(\S+)\s*$/i;

/** How long a verified token counts as one a client has been seen to use. */
const RECENT_MS = 3_600_000;

/** The token of an `Authorization: Bearer <token>` header value, or undefined. */
export function bearerToken(authorization: string | undefined): string | undefined {
  return authorization === undefined ? undefined : BEARER.exec(authorization)?.[1];
}

function unauthenticated(message: string): GantryError {
  return new GantryError('UNAUTHENTICATED', message);
}

/** Builds the authenticator; see the module doc. */
export function createAuthenticator(opts: AuthenticatorOptions): Authenticator {
  const now = opts.now ?? Date.now;
  const maxEntries = opts.maxEntries ?? 10_000;
  /** By token hash, oldest first: verified tokens, and refusals apart (see the module doc). */
  const verified = new Map<string, Entry>();
  const refused = new Map<string, Entry>();
  const maxRefused = Math.max(1, Math.floor(maxEntries / 10));
  const inflight = new Map<string, Promise<Entry>>();
  /** Token hash → when it was last verified, oldest first: a token its client has been seen to use. */
  const recent = new Map<string, number>();
  // The auth hook asks about one token three times in a row (cached, recently verified, then
  // authenticate): its hash is made once.
  let last: { readonly token: string; readonly hash: string } | undefined;
  const hashOf = (token: string): string => (last?.token === token ? last.hash : (last = { token, hash: hashToken(token) }).hash);

  const remember = (hash: string, entry: Entry) => {
    if (opts.cacheMs <= 0) return;
    const [cache, max] = entry.principal ? [verified, maxEntries] : [refused, maxRefused];
    if (cache.size >= max) cache.delete(cache.keys().next().value as string);
    cache.set(hash, entry);
  };

  const lookup = async (hash: string): Promise<Entry> => {
    const { rows } = await opts.pool.query<{ id: string; workspace_id: string; scopes: TokenScope[]; expires_at: Date | null }>(
      LOOKUP,
      [hash],
    );
    const row = rows[0];
    const at = now();
    // A token refused now (revoked, expired) is no longer one its client is known to use.
    recent.delete(hash);
    if (row) {
      if (recent.size >= maxEntries) recent.delete(recent.keys().next().value as string);
      recent.set(hash, at);
    }
    const until = Math.min(at + opts.cacheMs, row?.expires_at?.getTime() ?? Infinity);
    const entry: Entry = {
      principal: row ? { tokenId: row.id, workspaceId: row.workspace_id, scopes: Object.freeze([...row.scopes]) } : null,
      until,
    };
    remember(hash, entry);
    return entry;
  };

  const resolve = (hash: string): Promise<Entry> => {
    const cached = verified.get(hash) ?? refused.get(hash);
    if (cached && cached.until > now()) return Promise.resolve(cached);
    if (cached) (cached.principal ? verified : refused).delete(hash);
    let pending = inflight.get(hash);
    if (!pending) {
      pending = lookup(hash).finally(() => inflight.delete(hash));
      inflight.set(hash, pending);
    }
    return pending;
  };

  return {
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') {
        throw unauthenticated('this request needs an `Authorization: Bearer <token>` header');
      }
      const token = bearerToken(authorization);
      if (token === undefined) throw unauthenticated('the Authorization header must be `Bearer <token>`');
      if (!looksLikeToken(token)) throw unauthenticated('the bearer token is malformed');
      const entry = await resolve(hashOf(token));
      if (!entry.principal) throw unauthenticated('the bearer token is unknown, revoked or expired');
      return entry.principal;
    },
    cached(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined || !looksLikeToken(token)) return undefined;
      const entry = verified.get(hashOf(token));
      return entry && entry.until > now() ? entry.principal ?? undefined : undefined;
    },
    recentlyVerified(authorization) {
      const token = bearerToken(authorization);
      if (token === undefined || !looksLikeToken(token)) return false;
      const at = recent.get(hashOf(token));
      return at !== undefined && now() - at < RECENT_MS;
    },
  };
}
