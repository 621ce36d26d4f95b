/**
 * The three services end to end under the least-privilege NATS permissions of
 * `deploy/nats/permissions.yaml`: a private nats-server configured from the same rendering the
 * deploy docs use, the scheduler, a worker and the API as real processes, each as its own user.
 * A job with a COMMAND and an ARTIFACT step completes and its artifact downloads, with no
 * permission violation in the server's log; then a worker and the API try subjects they must
 * not publish to, and the server refuses them.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';
import { createPool, type Pool } from '@gantry/store';
import { createToken, createWorkspace, randomNamespace, startService, type ServiceProcess, useTestDatabase } from '@gantry/testkit';
import { authorizationBlock, NATS_SERVICES, type NatsService } from './nats-auth.js';
import { startPrivateNats, type PrivateNats } from '@gantry/testkit';

const db = useTestDatabase();
const namespace = randomNamespace();
const passwords = Object.fromEntries(NATS_SERVICES.map((s) => [s, randomBytes(12).toString('hex')])) as Record<NatsService, string>;
let nats: PrivateNats;
let pool: Pool;
let workDir: string;
const services: ServiceProcess[] = [];
let apiUrl: string;

function envOf(service: NatsService): Record<string, string> {
  return {
    DATABASE_URL: db.url,
    NATS_URL: nats.url,
    NATS_USER: `gantry-${service}`,
    NATS_PASSWORD: passwords[service],
    GANTRY_NAMESPACE: namespace,
    PORT: '0',
    METRICS_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    WORKER_WORK_DIR: workDir,
    NATS_STREAM_REPLICAS: '1',
  };
}

async function launch(service: NatsService, ready: string): Promise<Record<string, unknown>> {
  const proc = startService(service, envOf(service));
  services.push(proc);
  return proc.waitForLog((l) => l.msg === ready, 60_000);
}

beforeAll(async () => {
  nats = await startPrivateNats({ config: authorizationBlock(namespace, passwords) });
  pool = createPool(db.url, { max: 2, applicationName: 'nats-auth-test' });
  workDir = await mkdtemp(join(tmpdir(), 'gantry-nats-auth-work-'));
  await launch('scheduler', 'health server listening');
  await launch('worker', 'health server listening');
  apiUrl = `http://127.0.0.1:${String((await launch('api', 'api listening')).port)}`;
});
afterAll(async () => {
  for (const s of services.reverse()) await s.stop('SIGTERM');
  await pool?.end();
  await nats?.cleanup();
  if (workDir) await rm(workDir, { recursive: true, force: true });
});

/** Publishes on `subject` as `service` and resolves with the permission errors the server sent. */
async function tryPublish(service: NatsService, subject: string): Promise<string[]> {
  const env = { NATS_URL: nats.url, NATS_USER: `gantry-${service}`, NATS_PASSWORD: passwords[service] };
  const nc = await connectNats(loadConfig({}, env), { name: `intruder-${service}`, logger: createLogger({ service: 'test', version: '0', level: 'silent' }) });
  const errors: string[] = [];
  const watching = (async () => {
    for await (const s of nc.status()) if (s.type === 'error') errors.push(String(s.error));
  })();
  nc.publish(subject, '{}');
  await nc.flush();
  // The refusal arrives before the reply to a second ping: the server answers in order.
  await nc.flush();
  await nc.close();
  await watching;
  return errors;
}

describe('least-privilege NATS permissions', () => {
  it('let the API, scheduler and worker run a job end to end without a violation', async () => {
    const ws = await createWorkspace(pool);
    const token = await createToken(pool, ws);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const job = {
      type: 'perm',
      steps: [
        { name: 'make', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['/bin/sh', '-c', 'echo hello > out.txt'] } },
        { name: 'keep', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path: 'out.txt' } },
      ],
    };
    const submitted = await fetch(`${apiUrl}/runner-jobs`, { method: 'POST', headers, body: JSON.stringify(job) });
    expect(submitted.status).toBe(202);
    const { id } = (await submitted.json()) as { id: string };
    let status = '';
    while (!['COMPLETED', 'FAILED', 'CANCELLED'].includes(status)) {
      await new Promise((r) => setTimeout(r, 100));
      status = ((await (await fetch(`${apiUrl}/runner-jobs/${id}`, { headers })).json()) as { status: string }).status;
    }
    const detail = await (await fetch(`${apiUrl}/runner-jobs/${id}`, { headers })).json();
    expect([status, JSON.stringify(detail).slice(0, 3000)]).toEqual(['COMPLETED', expect.any(String)]);
    const artifact = await fetch(`${apiUrl}/runner-jobs/${id}/artifacts/out.txt`, { headers });
    expect(artifact.status).toBe(200);
    expect(await artifact.text()).toBe('hello\n');
    expect(nats.log().split("\n").filter((l) => /Permissions Violation/i.test(l))).toEqual([]);
  });

  it('let the API tell whether a repeated retry’s first command was settled', async () => {
    const ws = await createWorkspace(pool);
    const token = await createToken(pool, ws);
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
    const job = { type: 'perm-retry', maxAttempts: 1, steps: [{ name: 'fail', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['/bin/sh', '-c', 'exit 3'] } }] };
    const { id } = (await (await fetch(`${apiUrl}/runner-jobs`, { method: 'POST', headers, body: JSON.stringify(job) })).json()) as { id: string };
    let status = '';
    while (status !== 'FAILED') {
      await new Promise((r) => setTimeout(r, 100));
      status = ((await (await fetch(`${apiUrl}/runner-jobs/${id}`, { headers })).json()) as { status: string }).status;
    }
    // The same retry twice: the second is a duplicate, and the API reads the commands stream to see whether the first was settled.
    const answers = [];
    for (const requestId of ['perm-retry-1', 'perm-retry-2']) {
      answers.push((await fetch(`${apiUrl}/runner-jobs/${id}/retry`, { method: 'POST', headers: { ...headers, 'x-request-id': requestId } })).status);
    }
    expect(answers).toEqual([202, 202]);
    // The request's log line follows, on the same output, any warning its handling wrote.
    const api = services.at(-1)!; // launched last
    await api.waitForLog((l) => l.msg === 'request' && l.reqId === 'perm-retry-2', 5_000);
    expect(api.logs.filter((l) => l.msg === 'could not tell whether a repeated command was settled; answered as a duplicate')).toEqual([]);
  });

  it('refuse a worker publishing commands or dispatches, and the API publishing dispatches', async () => {
    expect(await tryPublish('worker', `${namespace}.cmd.submit`)).toEqual([expect.stringMatching(/permissions violation.*publish/i)]);
    expect(await tryPublish('worker', `${namespace}.dispatch.default`)).toEqual([expect.stringMatching(/permissions violation.*publish/i)]);
    expect(await tryPublish('api', `${namespace}.dispatch.default`)).toEqual([expect.stringMatching(/permissions violation.*publish/i)]);
    expect(await tryPublish('api', `other.cmd.submit`)).toEqual([expect.stringMatching(/permissions violation.*publish/i)]);
    // A subject it may use draws no refusal.
    expect(await tryPublish('worker', `${namespace}.ctl.heartbeat.w1`)).toEqual([]);
  });
});
