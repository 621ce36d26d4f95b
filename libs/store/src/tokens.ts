/**
 * API tokens: how they are minted, shown and stored, and what their scopes allow. A token is
 * `gantry_` followed by 43
 * base64url characters (256 random bits). PostgreSQL keeps only the SHA-256 of the whole token
 * (hex) and its first {@link TOKEN_PREFIX_LENGTH} characters, which identify it to a person; the
 * secret itself is shown once, when it is created, and cannot be recovered.
 */
import { createHash, randomBytes } from 'node:crypto';
import { TOKEN_SCOPES, type TokenScope } from './entities/api-token.js';

/** What every Gantry token starts with, so secret scanners and people recognise one. */
export const TOKEN_MARKER = 'gantry_';
/** Characters of a token kept in clear (`api_tokens.prefix`). */
export const TOKEN_PREFIX_LENGTH = 12;
/** Random bytes in a token. */
const SECRET_BYTES = 32;
/**
 * What a presented bearer token may look like: any token stored as its SHA-256 is accepted,
 * whoever minted it, but text that cannot be one is refused without a lookup.
 */
const PRESENTABLE = /^[A-Za-z0-9._~+/=-]{16,256}$/;

/** A newly minted token: the secret to show once and what is stored. */
export interface MintedToken {
  /** The bearer token; shown once, never stored. */
  readonly token: string;
  /** `api_tokens.token_hash`: SHA-256 of the token, lower-case hex. */
  readonly hash: string;
  /** `api_tokens.prefix`: the token's first characters. */
  readonly prefix: string;
}

/** The SHA-256 of `token` as lower-case hex: the only form in which a token is stored. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** True when `token` could be a bearer token (it may still be unknown); false for anything else. */
export function looksLikeToken(token: string): boolean {
  return PRESENTABLE.test(token);
}

/** Mints a new random token. */
export function mintToken(): MintedToken {
  const token = `${TOKEN_MARKER}${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { token, hash: hashToken(token), prefix: token.slice(0, TOKEN_PREFIX_LENGTH) };
}

/**
 * What each scope allows. Scopes nest: `jobs:admin` includes `jobs:write`, which includes
 * `jobs:read` (read jobs, steps, events, the queue and workers; submit, cancel or retry one job;
 * decide approval gates and cancel in bulk).
 */
const RANK: Record<TokenScope, number> = { 'jobs:read': 1, 'jobs:write': 2, 'jobs:admin': 3 };

/** True when a token holding `granted` may do what `required` guards. */
export function allows(granted: readonly TokenScope[], required: TokenScope): boolean {
  return granted.some((scope) => RANK[scope] >= RANK[required]);
}

/** True when `value` names a scope. */
export function isScope(value: string): value is TokenScope {
  return (TOKEN_SCOPES as readonly string[]).includes(value);
}
