/**
 * The Fastify app of the API: `buildApp(deps)` registers the health endpoints, every declared
 * route (authenticated, rate-limited and scope-checked before the body is read, then validated
 * with the contracts' `parseWith`), the docs, the problem+json error handler and the request log
 * and metrics. It does not listen; `server.ts` (and tests) do.
 */
import { isIP } from 'node:net';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { GantryError, Limits, parseWith } from '@gantry/contracts';
import { createHealthHandlers, HealthPaths, natsReadinessCheck, type HealthResponse } from '@gantry/runtime';
import { postgresReadinessCheck } from '@gantry/store';
import { registerConsole } from './console/route.js';
import type { ApiDeps } from './deps.js';
import { authHook } from './http/auth-hook.js';
import { clientErrorHandler } from './http/client-error.js';
import { observeRequests, requestIdOf } from './http/observe.js';
import type { ApiRoute } from './http/route.js';
import { sendProblem } from './problems.js';
import { docsRoutes } from './routes/docs.js';
import { API_ROUTES } from './routes/index.js';

/** Options of {@link buildApp}. */
export interface BuildAppOptions {
  /** The version shown in the docs. */
  readonly version: string;
}

function parseParams(schema: z.ZodType, input: unknown): unknown {
  const parsed = schema.safeParse(input);
  if (!parsed.success) throw new GantryError('NOT_FOUND', 'no such resource in this workspace');
  return parsed.data;
}

function register(app: FastifyInstance, deps: ApiDeps, route: ApiRoute): void {
  app.route({
    method: route.method,
    url: route.url,
    exposeHeadRoute: route.method === 'GET' && !route.streaming,
    ...(route.scope ? { onRequest: authHook(deps, route.scope) } : {}),
    handler: async (req: FastifyRequest, reply: FastifyReply) => {
      const params = route.params ? parseParams(route.params, req.params) : undefined;
      const query = route.query ? parseWith(route.query, req.query, 'query') : undefined;
      const input = req.body === undefined && route.bodyOptional ? {} : req.body;
      const body = route.body ? parseWith(route.body, input, 'body') : undefined;
      const answer = await route.handler({ req, reply, principal: req.principal!, params, query, body, deps } as never);
      if (answer === undefined) return reply;
      reply.code(answer.status);
      if (answer.headers) reply.headers(answer.headers);
      return answer.body === undefined ? reply.send() : answer.body;
    },
  });
}

function send(reply: FastifyReply, answer: HealthResponse): FastifyReply {
  return reply.code(answer.status).headers(answer.headers).send(answer.body);
}

/**
 * The proxies whose X-Forwarded-For is believed, by address (never by a hop count, which lets
 * any direct client name itself whatever it likes); false for none.
 */
function trustedProxies(setting: string): false | string[] {
  const list = setting.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const entry of list) {
    const [address = '', bits, ...rest] = entry.split('/');
    const family = isIP(address);
    const maxBits = family === 6 ? 128 : 32;
    const validBits = bits === undefined || (/^\d{1,3}$/.test(bits) && Number(bits) <= maxBits);
    if (family === 0 || !validBits || rest.length > 0) {
      throw new GantryError('VALIDATION_FAILED', `TRUSTED_PROXIES: ${JSON.stringify(entry)} is not an IP address or CIDR range`);
    }
  }
  return list.length > 0 ? list : false;
}

/** Builds the app; see the module doc. */
export function buildApp(deps: ApiDeps, opts: BuildAppOptions): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger as FastifyBaseLogger,
    // Fastify's own per-request lines are off: `observeRequests` writes one line per request.
    logController: new LogController({ disableRequestLogging: true, requestIdLogLabel: 'reqId' }),
    bodyLimit: Limits.maxRequestBytes,
    // request.ip: the connection's address, or, from a trusted proxy, the client it names.
    trustProxy: trustedProxies(deps.settings.trustedProxies),
    genReqId: requestIdOf,
    return503OnClosing: true,
    clientErrorHandler,
    // An artifact's name may be 200 characters, more once percent-encoded (Fastify's default is 100).
    routerOptions: { maxParamLength: 2_048 },
    // The router's own refusals (a malformed percent-encoding, a parameter past that length) are problems too.
    frameworkErrors: (err, req, reply) => {
      sendProblem(err, req, reply);
    },
  });
  app.decorateRequest('principal', null);

  // JSON only (no text/plain), an empty body reads as absent, and __proto__/constructor keys are refused.
  app.removeContentTypeParser(['application/json', 'text/plain']);
  const strictJson = app.getDefaultJsonParser('error', 'error');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (req, body, done) => {
    if (body === '') done(null, undefined);
    else void strictJson(req, body as string, done);
  });

  app.setErrorHandler((err, req, reply) => sendProblem(err, req, reply));
  app.setNotFoundHandler(async (req, reply) =>
    sendProblem(new GantryError('NOT_FOUND', `no route ${req.method} ${req.url.split('?')[0]}`), req, reply),
  );
  observeRequests(app, deps.apiMetrics);

  const health = createHealthHandlers({
    checks: [natsReadinessCheck(deps.nc), postgresReadinessCheck(deps.pool)],
    metrics: deps.metrics,
    // PORT answers anyone: why a check failed goes to the log only.
    reportErrors: (report) => deps.logger.warn({ checks: report.checks.filter((c) => !c.ok) }, 'not ready'),
  });
  app.get(HealthPaths.healthz, async (_req, reply) => send(reply, health.healthz()));
  app.get(HealthPaths.readyz, async (_req, reply) => send(reply, await health.readyz()));
  app.get(HealthPaths.metrics, async (_req, reply) => send(reply, await health.metrics()));
  registerConsole(app);

  const routes: ApiRoute[] = [...API_ROUTES];
  routes.push(...docsRoutes(() => routes, opts.version));
  for (const route of routes) register(app, deps, route);

  app.addHook('preClose', async () => {
    await deps.streams.closeAll();
  });
  return app;
}
