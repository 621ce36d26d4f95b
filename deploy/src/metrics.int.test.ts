/**
 * Every metric a dashboard, an alert rule or the KEDA trigger uses is one the services really
 * expose. The test starts the real api, scheduler and two workers (testkit's startService) on
 * a test database and namespace, drives the activity whose series appear only once something
 * happens — a completed job with a command and an AI call (against a local stand-in for the AI
 * API), a failed job, a malformed command (dead letter), a job recovered from a killed worker, a
 * job the reconciler has to queue — scrapes /metrics of each, and checks every query's metric
 * names, matched labels, buckets and grouping labels against what was scraped.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@gantry/store';
import { createJobs, createTestNamespace, createToken, createWorkspace, jobSpec, type ServiceProcess, startService, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { parseExposition, type Exposition } from './checks/exposition.js';
import { renderOverlay } from './checks/manifests.js';
import { checkAgainstExposition, dashboardQueries, recordedNames, ruleQueries, scalingQueries } from './checks/queries.js';

const db = useTestDatabase();
let ns: TestNamespace;
let pool: Pool;
let ai: Server;
let workDir: string;
const processes: ServiceProcess[] = [];
let victim: ServiceProcess;
const ports = new Map<string, number>();

/** Polls `probe` until it returns a value other than undefined (bounded by `timeoutMs`). */
async function eventually<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const scrape = async (service: string) => (await fetch(`http://127.0.0.1:${ports.get(service)}/metrics`)).text();
const jobStatus = async (id: string) => (await pool.query<{ status: string }>('SELECT status FROM runner_jobs WHERE id = $1', [id])).rows[0]?.status;

async function start(name: string, service: string, env: Record<string, string>, listening: string): Promise<ServiceProcess> {
  const proc = startService(service, env);
  processes.push(proc);
  const line = await proc.waitForLog((l) => l.msg === listening, 60_000);
  ports.set(name, Number(line.port));
  return proc;
}

beforeAll(async () => {
  ns = await createTestNamespace();
  pool = createPool(db.url, { max: 2, applicationName: 'deploy-metrics-test' });
  workDir = mkdtempSync(join(tmpdir(), 'gantry-metrics-'));
  ai = createServer((req, res) => {
    req.resume();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c1', model: 'stand-in-model', choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 7, completion_tokens: 3 } }));
  });
  await new Promise<void>((resolve) => ai.listen(0, '127.0.0.1', resolve));
  const common = { DATABASE_URL: db.url, GANTRY_NAMESPACE: ns.namespace, HTTP_HOST: '127.0.0.1' };
  // Mid-rotation of the command signing key, so that the grants' series exist for both keys.
  const signing = { COMMAND_SIGNING_KEY: 'k'.repeat(32), COMMAND_PREVIOUS_SIGNING_KEY: 'p'.repeat(32) };
  await start('scheduler', 'scheduler', { ...common, ...signing, METRICS_PORT: '0', RECONCILE_INTERVAL_MS: '200', WORKER_LOST_MS: '1000', PENDING_GRACE_MS: '0' }, 'health server listening');
  // A short drain: the job still running at the end is handed back at once when the test stops it.
  const worker = { ...common, METRICS_PORT: '0', WORKER_DRAIN_GRACE_MS: '200', WORKER_WORK_DIR: workDir, AI_BASE_URL: `http://127.0.0.1:${(ai.address() as AddressInfo).port}/v1` };
  [, victim] = await Promise.all([
    start('worker', 'worker', { ...worker, WORKER_ID: 'metrics-main' }, 'health server listening'),
    start('victim', 'worker', { ...worker, WORKER_ID: 'metrics-victim', WORKER_POOL: 'victim' }, 'health server listening'),
    start('api', 'api', { ...common, COMMAND_SIGNING_KEY: signing.COMMAND_SIGNING_KEY, PORT: '0' }, 'api listening'),
  ]);
}, 120_000);

afterAll(async () => {
  for (const p of processes) await p.stop('SIGTERM').catch(() => undefined);
  await pool?.end();
  await ns?.cleanup();
  await new Promise((resolve) => (ai ? ai.close(resolve) : resolve(undefined)));
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

describe('the metrics the dashboards, rules and autoscaler use', () => {
  it('are all exposed by the running services, with the labels and buckets the queries expect', async () => {
    const workspaceId = await createWorkspace(pool);
    const token = await createToken(pool, workspaceId, { scopes: ['jobs:read', 'jobs:write'] });
    const submit = async (job: unknown) => {
      const res = await fetch(`http://127.0.0.1:${ports.get('api')}/runner-jobs`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(job),
      });
      expect(res.status).toBe(202);
      return ((await res.json()) as { id: string }).id;
    };

    // A job that completes: a command, an AI call, a cleanup.
    const completes = await submit({
      type: 'metrics-check',
      steps: [
        { name: 'command', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['true'] } },
        { name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages: [{ role: 'user', content: 'hello' }] } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    // A job that fails for good.
    const fails = await submit({ type: 'metrics-check', maxAttempts: 1, steps: [{ name: 'fail', phase: 'EXECUTION', type: 'NOOP', spec: { fail: true } }] });
    // A malformed command: dead-lettered.
    await jetstream(ns.nc).publish(ns.names.subjects.command('submit'), '{"v":1,"kind":"submit"}', { msgID: `bad-${Date.now()}` });
    // A job held by a worker that dies: the scheduler queues it again, in a pool nobody serves now.
    const orphaned = await submit({ type: 'metrics-check', pool: 'victim', steps: [{ name: 'hold', phase: 'EXECUTION', type: 'NOOP', spec: { sleepMs: 120_000 } }] });
    // A job whose submit command never came: the reconciler queues it.
    await createJobs(pool, workspaceId, 1, { status: 'PENDING', spec: jobSpec({ pool: 'victim' }) });
    // A job still running when the services are scraped: the leader's running-past-deadline gauge has its pool.
    const running = await submit({ type: 'metrics-check', steps: [{ name: 'hold', phase: 'EXECUTION', type: 'NOOP', spec: { sleepMs: 120_000 } }] });
    // A dispatch nobody can read: the worker drops it (gantry_dispatches_dropped_total{reason="invalid"}).
    await jetstream(ns.nc).publish(ns.names.subjects.dispatch('default'), 'not a dispatch', { msgID: `junk-${Date.now()}` });

    await eventually('the completed and the failed job', async () => ((await jobStatus(completes)) === 'COMPLETED' && (await jobStatus(fails)) === 'FAILED' ? true : undefined));
    await eventually('the victim to hold its job', async () => ((await jobStatus(orphaned)) === 'RUNNING' ? true : undefined));
    await eventually('the long job to run', async () => ((await jobStatus(running)) === 'RUNNING' ? true : undefined));
    expect(await victim.stop('SIGKILL')).toBe('SIGKILL');
    await eventually('the scheduler to recover the victim’s job, repair the pending one and dead-letter the bad command', async () => {
      const text = await scrape('scheduler');
      return /gantry_jobs_requeued_total\{[^}]*reason="worker_lost"/.test(text) &&
        /gantry_reconciler_repairs_total\{[^}]*reason="pending_queued"/.test(text) &&
        /^gantry_dead_letters_total\{/m.test(text) &&
        /gantry_queue_depth\{[^}]*pool="victim"/.test(text) &&
        /gantry_jobs_past_deadline\{[^}]*pool="default"/.test(text)
        ? true
        : undefined;
    });
    await eventually('the worker to drop the unreadable dispatch', async () => (/gantry_dispatches_dropped_total\{[^}]*reason="invalid"/.test(await scrape('worker')) ? true : undefined));

    const exposition: Exposition = parseExposition(await scrape('api'));
    for (const service of ['scheduler', 'worker']) parseExposition(await scrape(service), exposition);
    const uses = [...dashboardQueries(), ...ruleQueries(), ...scalingQueries(renderOverlay('production'), 'production')];
    expect(checkAgainstExposition(uses, exposition, recordedNames())).toEqual([]);
    // The check looked at what the activity produced.
    for (const name of ['gantry_ai_tokens_total', 'gantry_command_exits_total', 'gantry_jobs_finished_total', 'gantry_queue_wait_seconds_bucket', 'gantry_http_request_duration_seconds_bucket']) {
      expect.soft(exposition.samples.has(name), name).toBe(true);
    }
  }, 180_000);
});
