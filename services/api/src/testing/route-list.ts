/**
 * Test support: every route the Fastify app actually serves, read from its router at run time
 * (`printRoutes`), so a suite that must cover every route notices one it has not heard of.
 */
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../deps.js';
import { buildApp } from '../app.js';
import { createStreamRegistry } from '../sse/registry.js';

/** A route as the router knows it: method and path template. */
export interface ServedRoute {
  readonly method: string;
  readonly url: string;
}

const LINE = /^(.*?)[└├]── (.*?)(?: \(([A-Z, ]+)\))?$/;

/** Parses `app.printRoutes({ commonPrefix: false })`: one tree line per path segment. */
export function parseRouteTree(tree: string): ServedRoute[] {
  const stack: string[] = [];
  const routes: ServedRoute[] = [];
  for (const line of tree.split('\n')) {
    const m = LINE.exec(line);
    if (!m) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]!);
    const url = stack.join('');
    for (const method of (m[3] ?? '').split(',').map((s) => s.trim()).filter(Boolean)) routes.push({ method, url });
  }
  return routes;
}

/** The routes of `app` once it is ready, sorted. */
export async function servedRoutes(app: FastifyInstance): Promise<ServedRoute[]> {
  await app.ready();
  const routes = parseRouteTree(app.printRoutes({ commonPrefix: false }));
  return routes.sort((a, b) => `${a.url} ${a.method}`.localeCompare(`${b.url} ${b.method}`));
}

/** The routes an app built from `deps` serves (the app is closed again; nothing listens). */
export async function routesOf(deps: ApiDeps): Promise<ServedRoute[]> {
  const app = buildApp({ ...deps, streams: createStreamRegistry() }, { version: 'test' });
  try {
    return await servedRoutes(app);
  } finally {
    await app.close();
  }
}
