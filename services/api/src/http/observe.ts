/**
 * Request ids, one log line per request, and the request-duration histogram.
 *
 * Every request gets an id: the caller's `X-Request-Id` when it is a sane token (so a request
 * can be followed across services), a new UUID otherwise. The id is on every log line of the
 * request (`reqId`), in the `X-Request-Id` answer header, in problem documents, and in the
 * `Gantry-Request-Id` header of the commands the request publishes.
 *
 * One `request` line per request at the end (info; warn for 5xx) with the route template, the
 * status, the duration and the caller's workspace and token ids — never the query string, a
 * header or a body. Event streams log the same line when they end, and are not timed by the
 * histogram (their duration is the client's choice).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { ApiMetrics } from '../metrics.js';
import { UNMATCHED_ROUTE } from '../metrics.js';

/** Requests that answered with a stream: they log their own line when the stream ends. */
const streamed = new WeakSet<FastifyRequest>();

/** Marks `req` as answered by a stream that logs its own line (and stays out of the histogram). */
export function markStreamed(req: FastifyRequest): void {
  streamed.add(req);
}

/** The header carrying the request id, both ways. */
export const REQUEST_ID_HEADER = 'x-request-id';

const SANE_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The id of an incoming request: its `X-Request-Id` when sane, a new UUID otherwise. */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers[REQUEST_ID_HEADER];
  return typeof given === 'string' && SANE_ID.test(given) ? given : randomUUID();
}

/** The route template a request matched, or {@link UNMATCHED_ROUTE}. */
export function routeOf(req: FastifyRequest): string {
  return req.routeOptions.url ?? UNMATCHED_ROUTE;
}

/** Writes the request's one log line. */
export function logRequest(req: FastifyRequest, status: number, seconds: number, extra: Record<string, unknown> = {}): void {
  const line = {
    method: req.method,
    route: routeOf(req),
    status,
    durationMs: Math.round(seconds * 100_000) / 100,
    ...(req.principal ? { workspaceId: req.principal.workspaceId, tokenId: req.principal.tokenId } : {}),
    ...extra,
  };
  if (status >= 500) req.log.warn(line, 'request');
  else req.log.info(line, 'request');
}

/** Adds the request-id header, the log line and the histogram to every request of `app`. */
export function observeRequests(app: FastifyInstance, metrics: ApiMetrics): void {
  app.addHook('onRequest', async (req, reply) => {
    reply.header(REQUEST_ID_HEADER, req.id);
  });
  app.addHook('onResponse', async (req, reply) => {
    if (streamed.has(req)) return;
    const seconds = reply.elapsedTime / 1000;
    metrics.observeRequest(routeOf(req), req.method, reply.statusCode, seconds);
    logRequest(req, reply.statusCode, seconds);
  });
}
