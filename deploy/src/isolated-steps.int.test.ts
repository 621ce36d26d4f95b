/**
 * The production overlay's isolated job processes, for real: the worker runs as root holding
 * only the capabilities `components/isolated-steps` grants (a process capability bounding set
 * made by `setpriv`), with the WORKER_STEP_USER of the rendered manifest, beside a scheduler and
 * an API. A job's COMMAND runs as that user in a directory the worker made for it, writes
 * private files the ARTIFACT steps then read, and its attempt directory is removed afterwards;
 * a step past its timeout is killed. Skipped where the tests do not run as root.
 */
import { chmod, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@gantry/store';
import { createTestNamespace, createToken, createWorkspace, startService, type ServiceProcess, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { renderOverlay } from './checks/manifests.js';
import { workloads } from './checks/workloads.js';

const isRoot = process.getuid?.() === 0;
const db = useTestDatabase();
let ns: TestNamespace;
let pool: Pool;
let workDir: string;
let apiUrl: string;
let headers: Record<string, string>;
const services: ServiceProcess[] = [];

/** The worker container of the production overlay: its added capabilities and WORKER_STEP_USER. */
function productionWorker(): { capabilities: string[]; stepUser: string } {
  const worker = workloads(renderOverlay('production')).find((w) => w.kind === 'Deployment' && w.command === 'worker')!;
  return {
    capabilities: (worker.container.securityContext?.capabilities?.add ?? []).map(String),
    stepUser: worker.container.env?.find((e) => e.name === 'WORKER_STEP_USER')?.value ?? '',
  };
}

async function launch(service: string, env: Record<string, string>, ready: string, launcher?: string[]): Promise<Record<string, unknown>> {
  const proc = startService(service, { DATABASE_URL: db.url, GANTRY_NAMESPACE: ns.namespace, PORT: '0', METRICS_PORT: '0', HTTP_HOST: '127.0.0.1', ...env }, launcher ? { launcher } : {});
  services.push(proc);
  return proc.waitForLog((l) => l.msg === ready, 60_000);
}

async function submit(job: unknown): Promise<string> {
  const res = await fetch(`${apiUrl}/runner-jobs`, { method: 'POST', headers, body: JSON.stringify(job) });
  expect(res.status).toBe(202);
  return ((await res.json()) as { id: string }).id;
}

async function ended(id: string): Promise<{ status: string; steps: { name: string; status: string; error: unknown }[]; events: { items: { type: string; payload: Record<string, unknown> }[] } }> {
  for (;;) {
    const job = (await (await fetch(`${apiUrl}/runner-jobs/${id}`, { headers })).json()) as { status: string };
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(job.status)) return job as never;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.runIf(isRoot)('isolated job processes under the production worker’s capabilities', () => {
  const { capabilities, stepUser } = productionWorker();

  beforeAll(async () => {
    ns = await createTestNamespace();
    pool = createPool(db.url, { max: 2, applicationName: 'isolated-steps-test' });
    const ws = await createWorkspace(pool);
    headers = { authorization: `Bearer ${await createToken(pool, ws)}`, 'content-type': 'application/json' };
    workDir = await mkdtemp(join(tmpdir(), 'gantry-isolated-'));
    await chmod(workDir, 0o700);
    const bounding = ['-all', ...capabilities.map((c) => `+${c.toLowerCase()}`)].join(',');
    await launch('scheduler', {}, 'health server listening');
    await launch('worker', { WORKER_WORK_DIR: workDir, WORKER_STEP_USER: stepUser, WORKER_KILL_GRACE_MS: '200' }, 'health server listening', [
      'setpriv', '--bounding-set', bounding, '--inh-caps', '-all', '--',
    ]);
    apiUrl = `http://127.0.0.1:${String((await launch('api', {}, 'api listening')).port)}`;
  }, 120_000);

  afterAll(async () => {
    for (const s of services.reverse()) await s.stop('SIGTERM');
    await pool?.end();
    await ns?.cleanup();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it('the manifest names a user other than root and the capabilities the worker needs', () => {
    expect(stepUser).toMatch(/^[1-9]\d*(:\d+)?$/);
    expect(capabilities).toEqual(['CHOWN', 'DAC_OVERRIDE', 'KILL', 'SETGID', 'SETUID']);
  });

  it('runs a job as that user: private files, a cwd the worker made, artifacts read, the directory removed', async () => {
    const script = 'umask 077; id -u; mkdir -p private/inner; echo secret > private/inner/file; echo hello > result.txt';
    const id = await submit({
      type: 'isolated',
      steps: [
        { name: 'make', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script, cwd: 'out/deep' } },
        { name: 'keep', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path: 'out/deep/result.txt' } },
        { name: 'keep-dir', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path: 'out/deep/private' } },
      ],
    });
    const job = await ended(id);
    expect([job.status, JSON.stringify(job.steps)]).toEqual(['COMPLETED', expect.any(String)]);
    const output = job.events.items.filter((e) => e.type === 'step.output').map((e) => e.payload.chunk).join('');
    expect(output).toBe(`${stepUser.split(':')[0]}\n`);
    const artifact = await fetch(`${apiUrl}/runner-jobs/${id}/artifacts/result.txt`, { headers });
    expect(artifact.status).toBe(200);
    expect(await artifact.text()).toBe('hello\n');
    expect(job.events.items.filter((e) => e.type === 'artifact.created')).toHaveLength(2);
    expect((await readdir(workDir)).filter((e) => e.startsWith(id))).toEqual([]);
  });

  it('kills a step of that user past its timeout', async () => {
    const id = await submit({
      type: 'isolated',
      maxAttempts: 1,
      steps: [{ name: 'slow', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: 'trap "" TERM; echo "pid $$"; sleep 300', timeoutMs: 500 } }],
    });
    const job = await ended(id);
    expect(job.status).toBe('FAILED');
    expect(job.steps[0]!.error).toMatchObject({ code: 'TIMEOUT' });
    const pid = /pid (\d+)/.exec(job.events.items.filter((e) => e.type === 'step.output').map((e) => e.payload.chunk).join(''))![1];
    await expect(readdir(`/proc/${pid}`)).rejects.toThrow();
  });
});
