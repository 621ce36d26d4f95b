import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ERROR_CODES, MetricNames } from '@gantry/contracts';
import { createTestNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { API_ROUTES } from './routes/index.js';
import { startTestApi, type TestApi, type TestWorkspace } from './testing/harness.js';
import { openSse } from './testing/sse-client.js';

const db = useTestDatabase();
let ns: TestNamespace;
let api: TestApi;
let ws: TestWorkspace;
const logs: Record<string, unknown>[] = [];

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n')) if (line !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  api = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, logs: destination });
  ws = await api.workspace();
});
afterAll(async () => {
  await api?.stop();
  await ns?.cleanup();
});

describe('every answer', () => {
  it('carries a request id: the caller’s when it is sane, a new one otherwise', async () => {
    expect((await api.call('GET', '/healthz', { headers: { 'x-request-id': 'trace-1.2:3' } })).headers.get('x-request-id')).toBe('trace-1.2:3');
    const generated = (await api.call('GET', '/healthz')).headers.get('x-request-id');
    expect(generated).toMatch(/^[0-9a-f-]{36}$/);
    const replaced = (await api.call('GET', '/healthz', { headers: { 'x-request-id': 'x'.repeat(200) } })).headers.get('x-request-id');
    expect(replaced).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('answers an unknown route with a 404 problem', async () => {
    const res = await api.call('GET', '/nowhere?x=1', { token: ws.reader });
    expect(res.status).toBe(404);
    expect(res.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(res.body).toEqual({
      type: 'https://gantry.dev/problems#NOT_FOUND',
      title: 'Not found',
      status: 404,
      detail: 'no route GET /nowhere',
      code: 'NOT_FOUND',
      instance: '/nowhere',
      requestId: res.headers.get('x-request-id'),
    });
  });
});

describe('observability', () => {
  it('writes one log line per request with the route template, status, duration and caller — no query string', async () => {
    const id = '00000000-0000-4000-8000-0000000000aa';
    await api.call('GET', `/runner-jobs/${id}?secret=shh`, { token: ws.reader, headers: { 'x-request-id': 'req-log-1' } });
    const lines = logs.filter((l) => l.reqId === 'req-log-1');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', method: 'GET', route: '/runner-jobs/:id', status: 404, workspaceId: ws.id, service: 'api' });
    expect(lines[0]!.durationMs).toEqual(expect.any(Number));
    expect(JSON.stringify(lines)).not.toContain('shh');
    expect(JSON.stringify(logs)).not.toContain(ws.reader);
  });

  it('logs an event stream once, when it ends, and keeps it out of the duration histogram', async () => {
    const submitted = await api.call('POST', '/runner-jobs', {
      token: ws.writer,
      body: { type: 'logged', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] },
    });
    const id = (submitted.body as { id: string }).id;
    const sse = await openSse(`${api.url}/runner-jobs/${id}/events/stream`, { authorization: `Bearer ${ws.reader}`, 'x-request-id': 'req-log-sse' });
    await sse.until((m) => m.id === '1');
    await api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer });
    expect((await sse.until(() => false)).last).toBeNull();
    await api.call('GET', '/healthz');
    const lines = logs.filter((l) => l.reqId === 'req-log-sse');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ msg: 'request', route: '/runner-jobs/:id/events/stream', status: 200, events: 2, end: 'terminal' });
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).not.toContain('events/stream');
    expect((await fetch(`${api.url}/runner-jobs/${id}/events/stream`, { method: 'HEAD' })).status).toBe(404);
  });

  it('measures request durations by route template, method and status class', async () => {
    await api.call('GET', '/runner-jobs/00000000-0000-4000-8000-0000000000bb', { token: ws.reader });
    await api.call('GET', '/no/such/path');
    const text = await (await fetch(`${api.url}/metrics`)).text();
    expect(text).toMatch(
      new RegExp(`^${MetricNames.httpRequestDuration}_count\\{route="/runner-jobs/:id",method="GET",status_class="4xx"\\} \\d+$`, 'm'),
    );
    expect(text).toMatch(new RegExp(`^${MetricNames.httpRequestDuration}_count\\{route="unmatched",method="GET",status_class="4xx"\\} \\d+$`, 'm'));
    expect(text).not.toContain('0000000000bb');
    expect(text).not.toContain('/no/such/path');
    expect(text).toMatch(new RegExp(`^${MetricNames.sseClients} 0$`, 'm'));
  });

  it('serves liveness and readiness', async () => {
    expect((await api.call('GET', '/healthz')).body).toEqual({ status: 'alive' });
    const ready = await api.call('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect((ready.body as { checks: { name: string; ok: boolean }[] }).checks.map((c) => [c.name, c.ok]).sort()).toEqual([
      ['nats', true],
      ['postgres', true],
    ]);
  });
});

describe('docs', () => {
  type Doc = { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>>; components: { schemas: Record<string, unknown> } };

  it('serves an OpenAPI document with every route and resolvable schemas', async () => {
    const res = await api.call('GET', '/openapi.json');
    const doc = res.body as Doc;
    expect(doc.openapi).toBe('3.1.0');
    for (const route of API_ROUTES) {
      const op = doc.paths[route.url.replace(/:(\w+)/g, '{$1}')]?.[route.method.toLowerCase()];
      expect(op, `${route.method} ${route.url}`).toBeDefined();
      for (const status of Object.keys(route.responses)) expect(op!.responses[status]).toBeDefined();
    }
    const refs = [...res.text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map((m) => m[1]!);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of new Set(refs)) expect(doc.components.schemas[ref], ref).toBeDefined();
    expect(doc.components.schemas.Problem).toMatchObject({ properties: { code: { enum: ERROR_CODES } } });
    expect(Object.keys(doc.components.schemas)).toEqual(expect.arrayContaining(['JobSpec', 'Job', 'JobEvent', 'JsonValue']));
    expect(Object.keys(doc.components.schemas).filter((k) => k.startsWith('__'))).toEqual([]);
  });

  it('serves a docs page listing every operation', async () => {
    const res = await api.call('GET', '/docs');
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
    for (const route of API_ROUTES) expect(res.text).toContain(`${route.method} ${route.url.replace(/:(\w+)/g, '{$1}')}`);
  });
});
