/**
 * Every route the app serves, from its router at run time, against one table: a route missing
 * from the table fails the suite. For each authenticated route: no, malformed, unknown, revoked
 * and expired tokens answer 401; every scope below the route's answers 403; another workspace's
 * admin answers 404 on every `:id` route and changes nothing; the owner gets through the fence.
 */
import { createHash } from 'node:crypto';
import { Objm } from '@nats-io/obj';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { mintToken, type TokenScope } from '@gantry/store';
import { BatchResult } from '../schemas.js';
import { complete, createTestWriter, fail, gatedSpec, park, queue, start, type TestWriter } from '../testing/fixtures.js';
import { startTestApi, type TestApi, type TestWorkspace } from '../testing/harness.js';
import { routesOf, type ServedRoute } from '../testing/route-list.js';

const db = useTestDatabase();
let ns: TestNamespace;
let api: TestApi;
let writer: TestWriter;
let a: TestWorkspace;
let b: TestWorkspace;
let served: ServedRoute[];
const ids: Record<Fixture, { id: string; stepId?: string }> = {} as never;

type Fixture = 'queued' | 'waiting' | 'failed' | 'artifact' | 'done';
interface Entry {
  /** null: public. */
  readonly scope: TokenScope | null;
  /** The job the `:id` of the route names. */
  readonly job?: Fixture;
  readonly body?: unknown;
  /** The path requested, when the template alone does not make one (wildcards). */
  readonly path?: string;
}

const job = { type: 'fence', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] };

/** Every route of the API. A new route must be added here, or this suite fails. */
const TABLE: Record<string, Entry> = {
  'GET /healthz': { scope: null },
  'GET /readyz': { scope: null },
  'GET /metrics': { scope: null },
  'GET /openapi.json': { scope: null },
  'GET /docs': { scope: null },
  'GET /ui': { scope: null },
  'GET /ui*': { scope: null, path: '/ui/' },
  'POST /runner-jobs': { scope: 'jobs:write', body: job },
  'POST /runner-jobs/batch': { scope: 'jobs:write', body: { jobs: [job] } },
  'GET /runner-jobs': { scope: 'jobs:read' },
  'POST /runner-jobs/cancel': { scope: 'jobs:admin', body: { type: 'fence-none' } },
  'GET /queue': { scope: 'jobs:read' },
  'GET /workers': { scope: 'jobs:read' },
  'GET /runner-jobs/:id': { scope: 'jobs:read', job: 'done' },
  'GET /runner-jobs/:id/steps': { scope: 'jobs:read', job: 'done' },
  'GET /runner-jobs/:id/events': { scope: 'jobs:read', job: 'done' },
  'GET /runner-jobs/:id/events/stream': { scope: 'jobs:read', job: 'queued' },
  'GET /runner-jobs/:id/artifacts': { scope: 'jobs:read', job: 'artifact' },
  'GET /runner-jobs/:id/artifacts/:name': { scope: 'jobs:read', job: 'artifact' },
  'POST /runner-jobs/:id/cancel': { scope: 'jobs:write', job: 'queued', body: { reason: 'fence' } },
  'POST /runner-jobs/:id/retry': { scope: 'jobs:write', job: 'failed' },
  'POST /runner-jobs/:id/steps/:stepId/approve': { scope: 'jobs:admin', job: 'waiting', body: {} },
  'POST /runner-jobs/:id/steps/:stepId/reject': { scope: 'jobs:admin', job: 'waiting', body: {} },
};

const BELOW: Record<TokenScope, TokenScope[][]> = {
  'jobs:read': [[]],
  'jobs:write': [[], ['jobs:read']],
  'jobs:admin': [[], ['jobs:read'], ['jobs:write']],
};

function entryOf(route: ServedRoute): Entry | undefined {
  return TABLE[`${route.method === 'HEAD' ? 'GET' : route.method} ${route.url}`];
}

function pathOf(route: ServedRoute, entry: Entry): string {
  const target = entry.job ? ids[entry.job] : undefined;
  return (entry.path ?? route.url)
    .replace(':id', target?.id ?? ':id')
    .replace(':stepId', target?.stepId ?? ':stepId')
    .replace(':name', 'report.txt');
}

/** One request; an event stream is cut off once its headers arrived. */
async function send(route: ServedRoute, entry: Entry, authorization?: string): Promise<{ status: number; type: string | null }> {
  const headers: Record<string, string> = authorization === undefined ? {} : { authorization };
  let body: string | undefined;
  if (entry.body !== undefined && route.method === 'POST') {
    body = JSON.stringify(entry.body);
    headers['content-type'] = 'application/json';
  }
  const abort = new AbortController();
  const res = await fetch(`${api.url}${pathOf(route, entry)}`, { method: route.method, headers, body, signal: abort.signal });
  const type = res.headers.get('content-type');
  if (type?.startsWith('text/event-stream')) abort.abort();
  else await res.arrayBuffer();
  return { status: res.status, type };
}

/** Status, attempt and event count of every fixture job of workspace A. */
async function snapshot(): Promise<unknown[]> {
  const { rows } = await api.pool.query(
    `SELECT j.id, j.status, j.attempt, (SELECT count(*)::int FROM job_events e WHERE e.job_id = j.id) AS events
     FROM runner_jobs j WHERE j.workspace_id = $1 ORDER BY j.id`,
    [a.id],
  );
  return rows;
}

async function createFixtures(): Promise<void> {
  const res = await api.call('POST', '/runner-jobs/batch', { token: a.writer, body: { jobs: [job, gatedSpec(), job, job, job] } });
  const [queued, waiting, failed, artifact, done] = BatchResult.parse(res.body).jobs.map((j) => j.id);
  for (const id of [queued!, waiting!, failed!, artifact!, done!]) await writer.write(queue(id));
  for (const id of [waiting!, failed!, artifact!, done!]) await writer.write(start(id));
  const gate = await api.pool.query(`SELECT id FROM job_steps WHERE job_id = $1 AND type = 'GATE'`, [waiting]);
  await writer.write(park(waiting!, gate.rows[0].id));
  await writer.write(fail(failed!));
  await writer.write(complete(done!));
  const data = Buffer.from('report');
  const key = `${a.id}/${artifact}/report.txt`;
  await (await new Objm(ns.nc).open(ns.names.buckets.artifacts)).putBlob({ name: key }, data);
  const sha256 = createHash('sha256').update(data).digest('hex');
  const payload = { name: 'report.txt', bucket: ns.names.buckets.artifacts, key, size: data.byteLength, sha256, contentType: 'text/plain' };
  await writer.write({ jobId: artifact!, attempt: 1, expect: ['RUNNING'], events: [{ type: 'artifact.created', actor: 'worker:test', payload }] });
  Object.assign(ids, { queued: { id: queued }, waiting: { id: waiting, stepId: gate.rows[0].id }, failed: { id: failed }, artifact: { id: artifact }, done: { id: done } });
}

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  api = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc });
  writer = createTestWriter(api.pool, ns.nc, ns.names);
  [a, b] = await Promise.all([api.workspace(), api.workspace()]);
  served = await routesOf(api.server.deps);
  await createFixtures();
});
afterAll(async () => {
  await writer?.close();
  await api?.stop();
  await ns?.cleanup();
});

describe('the route table', () => {
  it('names every route the app serves (add a new route to TABLE)', () => {
    const missing = served.filter((r) => !entryOf(r)).map((r) => `${r.method} ${r.url}`);
    expect(missing).toEqual([]);
    expect(served.filter((r) => r.method !== 'HEAD').length).toBe(Object.keys(TABLE).length);
  });

  it('serves the public routes without a token', async () => {
    for (const route of served.filter((r) => entryOf(r)!.scope === null)) {
      expect([route.method, route.url, (await send(route, entryOf(route)!)).status]).toEqual([route.method, route.url, 200]);
    }
  });

  it('answers 401 without a valid token on every other route: none, malformed, unknown, revoked, expired', async () => {
    const revoked = await a.token(['jobs:admin'], { revoked: true });
    const expired = await a.token(['jobs:admin'], { expiresAt: new Date(Date.now() - 1_000) });
    const bad = [undefined, 'Bearer nope', `Bearer ${mintToken().token}`, `Bearer ${revoked.token}`, `Bearer ${expired.token}`, `Basic ${a.admin}`];
    const before = await snapshot();
    for (const route of served.filter((r) => entryOf(r)!.scope !== null)) {
      for (const authorization of bad) {
        const res = await send(route, entryOf(route)!, authorization);
        expect([route.method, route.url, authorization, res.status]).toEqual([route.method, route.url, authorization, 401]);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 403 to every token whose scopes fall short, and changes nothing', async () => {
    const before = await snapshot();
    for (const route of served.filter((r) => entryOf(r)!.scope !== null)) {
      const entry = entryOf(route)!;
      for (const scopes of BELOW[entry.scope!]) {
        const { token } = await a.token(scopes);
        const res = await send(route, entry, `Bearer ${token}`);
        expect([route.method, route.url, scopes, res.status]).toEqual([route.method, route.url, scopes, 403]);
      }
    }
    expect(await snapshot()).toEqual(before);
  });

  it('answers 404 (problem+json) to another workspace’s admin on every :id route, and changes nothing', async () => {
    const before = await snapshot();
    const idRoutes = served.filter((r) => r.url.includes(':id'));
    expect(idRoutes.length).toBeGreaterThanOrEqual(10);
    for (const route of idRoutes) {
      const res = await send(route, entryOf(route)!, `Bearer ${b.admin}`);
      expect([route.method, route.url, res.status]).toEqual([route.method, route.url, 404]);
      if (route.method !== 'HEAD') expect(res.type).toMatch(/^application\/problem\+json/);
    }
    expect(await snapshot()).toEqual(before);
    const listed = await api.call('GET', '/runner-jobs?limit=100', { token: b.admin });
    expect(JSON.stringify(listed.body)).not.toContain(a.id);
    const bulk = await api.call('POST', '/runner-jobs/cancel', { token: b.admin, body: { type: 'fence' } });
    expect(bulk.body).toMatchObject({ matched: 0 });
    expect(await snapshot()).toEqual(before);
  });

  it('lets the owner through the fence on every route', async () => {
    for (const route of served.filter((r) => entryOf(r)!.scope !== null)) {
      const { status } = await send(route, entryOf(route)!, `Bearer ${a.admin}`);
      expect([route.method, route.url, status >= 200 && status < 300 || status === 409]).toEqual([route.method, route.url, true]);
    }
  });
});
