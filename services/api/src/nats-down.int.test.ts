/**
 * NATS going away must not stop the API from accepting jobs: PostgreSQL is the truth and the
 * scheduler's reconciler publishes PENDING jobs later. The API here runs on a NATS server of the
 * test's own, which the test kills.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstreamManager } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { names as namesOf } from '@gantry/contracts';
import { connectNats, loadConfig, provision } from '@gantry/runtime';
import { createTestNamespace, randomNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { BatchResult, JobView } from './schemas.js';
import { createTestWriter, fail, queue, start, type TestWriter } from './testing/fixtures.js';
import { startTestApi, testLogger, type TestApi, type TestWorkspace } from './testing/harness.js';
import { startPrivateNats, type PrivateNats } from '@gantry/testkit';

const db = useTestDatabase();
let ns: TestNamespace;
let nats: PrivateNats;
let nc: NatsConnection;
let api: TestApi;
let writer: TestWriter;
let ws: TestWorkspace;
const namespace = randomNamespace();

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  nats = await startPrivateNats();
  nc = await connectNats(loadConfig({}, { NATS_URL: nats.url }), { name: 'api-nats-down', logger: testLogger(), reconnectWaitMs: 100 });
  await provision(await jetstreamManager(nc), namesOf(namespace));
  api = await startTestApi({ databaseUrl: db.url, namespace, nc });
  writer = createTestWriter(api.pool, ns.nc, ns.names);
  ws = await api.workspace();
});
afterAll(async () => {
  await writer?.close();
  await api?.stop();
  await nc?.close();
  await nats?.cleanup();
  await ns?.cleanup();
});

const job = { type: 'offline', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] };

describe('with NATS down', () => {
  it('still accepts jobs: stored PENDING for the reconciler, answered 202 at once', async () => {
    await nats.kill();
    const one = await api.call('POST', '/runner-jobs', { token: ws.writer, body: job, headers: { 'idempotency-key': 'offline-1' } });
    expect(one.status).toBe(202);
    const batch = await api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [job, job, job] } });
    expect(batch.status).toBe(202);
    const ids = [JobView.parse(one.body).id, ...BatchResult.parse(batch.body).jobs.map((j) => j.id)];
    const { rows } = await api.pool.query('SELECT status, count(*)::int AS n FROM runner_jobs WHERE id = ANY($1::uuid[]) GROUP BY status', [ids]);
    expect(rows).toEqual([{ status: 'PENDING', n: 4 }]);
    const again = await api.call('POST', '/runner-jobs', { token: ws.writer, body: job, headers: { 'idempotency-key': 'offline-1' } });
    expect((again.body as { id: string }).id).toBe(ids[0]);
  });

  it('still reads, and cancels a job with no message needed', async () => {
    const list = await api.call('GET', '/runner-jobs?status=PENDING', { token: ws.reader });
    expect(list.status).toBe(200);
    const id = (list.body as { items: { id: string }[] }).items[0]!.id;
    const res = await api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer });
    expect([res.status, (res.body as { status: string }).status]).toEqual([200, 'CANCELLED']);
  });

  it('answers 503 to a decision that can only travel as a command, and changes nothing', async () => {
    const res = await api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [job] } });
    const id = BatchResult.parse(res.body).jobs[0]!.id;
    await writer.write(queue(id));
    await writer.write(start(id));
    await writer.write(fail(id));
    const retry = await api.call('POST', `/runner-jobs/${id}/retry`, { token: ws.writer });
    expect(retry.status).toBe(503);
    expect(retry.body).toMatchObject({ code: 'UNAVAILABLE' });
    expect(retry.headers.get('retry-after')).toBe('1');
    expect((await api.pool.query('SELECT status FROM runner_jobs WHERE id = $1', [id])).rows[0].status).toBe('FAILED');
  });

  it('answers 503 to an artifact download, which only the object store can serve: not a 500, nor a 404', async () => {
    const res = await api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [job] } });
    const id = BatchResult.parse(res.body).jobs[0]!.id;
    await writer.write(queue(id));
    await writer.write(start(id));
    await writer.write({
      jobId: id, attempt: 1, expect: ['RUNNING'],
      events: [{ type: 'artifact.created', actor: 'worker:test', payload: { name: 'out.bin', bucket: namesOf(namespace).buckets.artifacts, key: `${ws.id}/${id}/out.bin`, size: 3, sha256: '0'.repeat(64), contentType: 'application/octet-stream' } }],
    });
    const download = await api.call('GET', `/runner-jobs/${id}/artifacts/out.bin`, { token: ws.reader });
    expect(download.status).toBe(503);
    expect(download.body).toMatchObject({ code: 'UNAVAILABLE' });
    expect(download.headers.get('retry-after')).toBe('1');
  });

  it('reports itself not ready', async () => {
    const ready = await api.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect((ready.body as { checks: { name: string; ok: boolean }[] }).checks).toContainEqual(expect.objectContaining({ name: 'nats', ok: false }));
  });
});
