/**
 * The gate in front of every non-public route, run before the body is read: authenticate the
 * bearer token (401), take one request from the token's rate limit (429 with Retry-After), check
 * the route's scope (403). The principal found is on `request.principal` from then on; the
 * workspace of every query the request makes comes from it, never from the request.
 *
 * Each failed authentication of a well-formed token (one that costs a lookup) is taken from its
 * client address's budget (AUTH_FAILURES_PER_MINUTE); an address past it gets 429 without a
 * lookup, but a token verified within AUTH_CACHE_MS still passes, so that clients behind the
 * same address (a NAT, a proxy not counted in TRUSTED_PROXY_HOPS) keep working.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { GantryError } from '@gantry/contracts';
import type { Principal } from '../auth/authenticator.js';
import { allows, looksLikeToken, type TokenScope } from '@gantry/store';
import { bearerToken } from '../auth/authenticator.js';
import type { ApiDeps } from '../deps.js';
import { HttpGantryError } from '../problems.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** The authenticated caller; null on public routes and before authentication. */
    principal: Principal | null;
  }
}

const REALM = 'Bearer realm="gantry"';

async function authenticate(deps: ApiDeps, req: FastifyRequest): Promise<Principal> {
  const { authorization } = req.headers;
  const failures = deps.authFailures.peek(req.ip);
  if (!failures.allowed) {
    const cached = deps.authenticator.cached(authorization);
    if (cached) return cached;
    const error = new GantryError(
      'RATE_LIMITED',
      `too many failed authentications from ${req.ip}; retry after ${failures.retryAfterSeconds} s`,
    );
    throw new HttpGantryError(error, { 'retry-after': String(failures.retryAfterSeconds) });
  }
  try {
    return await deps.authenticator.authenticate(authorization);
  } catch (err) {
    if (!(err instanceof GantryError) || err.code !== 'UNAUTHENTICATED') throw err;
    const token = bearerToken(authorization);
    if (token !== undefined && looksLikeToken(token)) deps.authFailures.take(req.ip);
    const challenge = authorization === undefined ? REALM : `${REALM}, error="invalid_token"`;
    throw new HttpGantryError(err, { 'www-authenticate': challenge });
  }
}

/** The onRequest hook of a route that needs `scope`. */
export function authHook(deps: ApiDeps, scope: TokenScope): onRequestAsyncHookHandler {
  return async (req) => {
    const principal = await authenticate(deps, req);
    req.principal = principal;
    const decision = deps.rateLimiter.take(principal.tokenId);
    if (!decision.allowed) {
      const { rateLimitPerSecond: rate, rateLimitBurst: burst } = deps.settings;
      const error = new GantryError(
        'RATE_LIMITED',
        `this token may make ${rate} requests per second (bursts of ${burst}); retry after ${decision.retryAfterSeconds} s`,
      );
      throw new HttpGantryError(error, { 'retry-after': String(decision.retryAfterSeconds) });
    }
    if (!allows(principal.scopes, scope)) {
      throw new GantryError('FORBIDDEN', `this needs the ${scope} scope; the token has ${principal.scopes.join(', ') || 'none'}`);
    }
  };
}
