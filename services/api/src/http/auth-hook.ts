/**
 * The gate in front of every non-public route, run before the body is read: authenticate the
 * bearer token (401), take one request from the token's rate limit (429 with Retry-After), check
 * the route's scope (403). The principal found is on `request.principal` from then on; the
 * workspace of every query the request makes comes from it, never from the request.
 *
 * Each lookup of a well-formed token that is neither cached nor known (verified within the hour)
 * is taken from its client address's budget of failed authentications first, and given back
 * when the token is good: an address past its budget (AUTH_FAILURES_PER_MINUTE, however many
 * requests it sends at once) gets 429 without a lookup, while the tokens its clients have been
 * seen to use are still looked up (a revocation still counts), so that one client failing in a
 * loop does not lock out the others behind the same address (a NAT, a proxy). The address is
 * the connection's, or from a proxy of TRUSTED_PROXIES the client it names; an IPv6 address
 * counts by its /64, which one client holds whole.
 */
import type { FastifyRequest, onRequestAsyncHookHandler } from 'fastify';
import { GantryError } from '@gantry/contracts';
import type { Principal } from '../auth/authenticator.js';
import { allows, looksLikeToken, type TokenScope } from '@gantry/store';
import { bearerToken } from '../auth/authenticator.js';
import { addressKey } from './client-address.js';
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
  const cached = deps.authenticator.cached(authorization);
  if (cached) return cached;
  const token = bearerToken(authorization);
  // Only a well-formed token costs a lookup; anything else is refused without one, below.
  const charged = token !== undefined && looksLikeToken(token) && !deps.authenticator.recentlyVerified(authorization);
  const address = charged ? addressKey(req.ip) : '';
  if (charged) {
    const decision = deps.authFailures.take(address);
    if (!decision.allowed) {
      const error = new GantryError(
        'RATE_LIMITED',
        `too many failed authentications from ${req.ip}; retry after ${decision.retryAfterSeconds} s`,
      );
      throw new HttpGantryError(error, { 'retry-after': String(decision.retryAfterSeconds) });
    }
  }
  try {
    const principal = await deps.authenticator.authenticate(authorization);
    if (charged) deps.authFailures.refund(address);
    return principal;
  } catch (err) {
    if (!(err instanceof GantryError) || err.code !== 'UNAUTHENTICATED') {
      if (charged) deps.authFailures.refund(address);
      throw err;
    }
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
