import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers, SubmitCommand } from '@gantry/contracts';
import { createPool, type Pool } from '@gantry/store';
import { createTestNamespace, createWorkspace, startService, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { insertToken } from './testing/harness.js';
import { streamMessages } from './testing/stream-read.js';

const db = useTestDatabase();
let ns: TestNamespace;
let pool: Pool;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  pool = createPool(db.url, { max: 2, applicationName: 'api-main-test' });
});
afterAll(async () => {
  await pool?.end();
  await ns?.cleanup();
});

describe('the api process', () => {
  it('serves the API with health and metrics on one port, accepts a job, and exits 0 on SIGTERM', async () => {
    const workspaceId = await createWorkspace(pool);
    const { token } = await insertToken(pool, workspaceId, ['jobs:write']);
    const proc = startService('api', { DATABASE_URL: db.url, GANTRY_NAMESPACE: ns.namespace, PORT: '0', HTTP_HOST: '127.0.0.1' });
    try {
      const listening = await proc.waitForLog((l) => l.msg === 'api listening');
      const base = `http://127.0.0.1:${String(listening.port)}`;
      const ready = await fetch(`${base}/readyz`);
      expect(ready.status).toBe(200);
      expect(await (await fetch(`${base}/metrics`)).text()).toMatch(/^gantry_service_info\{service="api",version="0\.1\.0"\} 1$/m);

      const res = await fetch(`${base}/runner-jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'x-request-id': 'req-process' },
        body: JSON.stringify({ type: 'smoke', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] }),
      });
      expect(res.status).toBe(202);
      const { id } = (await res.json()) as { id: string };
      const line = await proc.waitForLog((l) => l.reqId === 'req-process' && l.msg === 'request');
      expect(line).toMatchObject({ route: '/runner-jobs', status: 202, workspaceId });

      expect(await proc.stop('SIGTERM')).toBe(0);
      // A clean stop published what it had accepted.
      const commands = await streamMessages(ns.jsm, ns.names.streams.commands, ns.names.subjects.command('submit'));
      expect(commands.map((m) => [m.header(Headers.msgId), SubmitCommand.parse(m.body).jobs?.map((j) => j.jobId)])).toEqual([[id, [id]]]);
    } finally {
      await proc.stop('SIGKILL');
    }
  });
});
