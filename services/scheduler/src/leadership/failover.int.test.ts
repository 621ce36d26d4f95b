import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@gantry/store';
import { createJobs, createTestNamespace, createWorkspace, startService, type ServiceProcess, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { FakeWorker, waitFor } from '../testing/harness.js';

const db = useTestDatabase();
let ns: TestNamespace;
let pool: Pool;
const processes: ServiceProcess[] = [];

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  pool = createPool(db.url, { max: 2, applicationName: 'failover-test' });
});
afterAll(async () => {
  for (const p of processes) await p.stop('SIGKILL');
  await pool?.end();
  await ns?.cleanup();
});

function scheduler(): ServiceProcess {
  const p = startService('scheduler', {
    DATABASE_URL: db.url,
    GANTRY_NAMESPACE: ns.namespace,
    METRICS_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    SCHEDULER_LEASE_MS: '2000',
    SCHEDULER_RENEW_MS: '300',
    DISPATCH_INTERVAL_MS: '50',
  });
  processes.push(p);
  return p;
}

const elected = (line: Record<string, unknown>) => line.msg === 'elected leader';

describe('scheduler leadership', () => {
  it('moves to the standby within the lease after kill -9 of the leader, with a higher term', async () => {
    const a = scheduler();
    const first = await a.waitForLog(elected);
    const b = scheduler();
    await b.waitForLog((l) => l.msg === 'health server listening');
    expect(b.logs.some(elected)).toBe(false);

    const killedAt = Date.now();
    await a.stop('SIGKILL');
    const second = await b.waitForLog(elected, 10_000);
    const tookMs = Date.now() - killedAt;
    expect(second.term).toBe(Number(first.term) + 1);
    expect(tookMs).toBeLessThan(10_000);

    // The new leader dispatches.
    const ws = await createWorkspace(pool);
    const [job] = await createJobs(pool, ws, 1);
    const worker = new FakeWorker(ns, pool, 1, { finish: true });
    worker.start();
    try {
      await waitFor(() => worker.dispatches.length === 1, 10_000, 'a dispatch from the new leader');
      expect(worker.dispatches[0]).toMatchObject({ jobId: job!.id, term: second.term });
    } finally {
      await worker.stop();
    }
    expect(await b.stop('SIGTERM')).toBe(0);
  });
});
