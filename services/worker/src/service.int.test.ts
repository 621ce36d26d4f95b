import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Heartbeat } from '@gantry/contracts';
import { startService } from '@gantry/testkit';
import { typesOf, useWorkerHarness } from './testing/harness.js';

const h = useWorkerHarness();
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'worker-process-'));
  // Job processes of a worker running as root run as nobody: they must reach the release files.
  await chmod(dir, 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function env(extra: Record<string, string>): Record<string, string> {
  return {
    DATABASE_URL: h.dbUrl,
    GANTRY_NAMESPACE: h.ns.namespace,
    METRICS_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    WORKER_WORK_DIR: join(dir, 'work'),
    ...extra,
  };
}

/** A COMMAND step that prints its pid, then waits until `file` exists. */
function waitFor(name: string, file: string) {
  return {
    name, phase: 'EXECUTION' as const, type: 'COMMAND',
    spec: { shell: '/bin/sh', script: 'echo "pid $$"\nwhile [ ! -e "$RELEASE" ]; do sleep 0.02; done\necho released', env: { RELEASE: file } },
  };
}

async function gone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('the worker process', () => {
  it('drains on SIGTERM: finishes what ends within the grace, hands back the rest, pulls nothing more', async () => {
    const proc = startService('worker', env({ WORKER_ID: 'drainer', WORKER_CONCURRENCY: '2', WORKER_DRAIN_GRACE_MS: '2000', WORKER_KILL_GRACE_MS: '500', SHUTDOWN_TIMEOUT_MS: '20000' }));
    const exited = new Promise<number | string>((resolve) => proc.child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    try {
      await proc.waitForLog((l) => l.msg === 'worker started');
      const beats: Heartbeat[] = [];
      const sub = h.ns.nc.subscribe(h.ns.names.subjects.heartbeat('drainer'), { callback: (_e, m) => void beats.push(Heartbeat.parse(m.json())) });
      const setup = { name: 'setup', phase: 'SETUP' as const, type: 'NOOP' };
      const short = await h.createJob({ steps: [setup, waitFor('work', join(dir, 'short'))] });
      const long = await h.createJob({ steps: [setup, waitFor('work', join(dir, 'long'))] });
      const third = await h.createJob();
      await h.dispatch(short.id, 1);
      await h.dispatch(long.id, 1);
      await h.dispatch(third.id, 1);
      await h.stdout(short.id, (t) => t.includes('pid '));
      const longPid = Number(/pid (\d+)/.exec(await h.stdout(long.id, (t) => t.includes('pid ')))![1]);

      proc.child.kill('SIGTERM');
      await proc.waitForLog((l) => l.msg === 'shutting down');
      await writeFile(join(dir, 'short'), '');
      expect(await exited).toBe(0);
      sub.unsubscribe();

      expect((await h.job(short.id)).status).toBe('COMPLETED');
      expect(await h.job(long.id)).toMatchObject({ status: 'QUEUED', attempt: 2, failures: 0, worker_id: null, dispatched_at: null });
      expect((await h.steps(long.id)).map((s) => s.status)).toEqual(['COMPLETED', 'PENDING']);
      const handedBack = (await h.events(long.id)).at(-1)!;
      expect(handedBack).toMatchObject({ type: 'job.queued', attempt: 2, payload: { attempt: 2, reason: 'handed_back', runAt: null } });
      // Queued anew: its wait (and its aging) counts from the hand-back, not from before it ran.
      const requeued = await h.job(long.id);
      expect(requeued.queued_at!.getTime()).toBeGreaterThanOrEqual(requeued.started_at!.getTime());
      expect(await gone(longPid)).toBe(true);
      expect(typesOf(await h.events(third.id))).toEqual(['job.created', 'job.queued']);
      expect(await h.settledDispatch()).toMatchObject({ pending: 1, ackPending: 0 });
      expect(beats.some((b) => b.draining)).toBe(true);
      expect(beats.every((b) => b.busy <= 2)).toBe(true);

      // Another worker continues the handed-back attempt; the completed step does not run again.
      await writeFile(join(dir, 'long'), '');
      const { worker } = await h.startWorker();
      expect(await h.run(worker, long.id, 2)).toBe('COMPLETED');
      const started = (await h.events(long.id)).filter((e) => e.type === 'step.started').map((e) => [(e.payload as { name: string }).name, e.attempt]);
      expect(started).toEqual([['setup', 1], ['work', 1], ['work', 2]]);
      expect((await h.events(long.id)).filter((e) => e.type === 'job.completed')).toHaveLength(1);
    } finally {
      await proc.stop('SIGKILL');
    }
  });

  it('hands back a job whose step outlasts the stop, killing the step while the attempt can still write its end', async () => {
    // The step ignores SIGTERM and its spec asks for 30 s to stop, beyond the worker's 5 s stop.
    const proc = startService('worker', env({ WORKER_ID: 'stubborn', WORKER_DRAIN_GRACE_MS: '500', WORKER_KILL_GRACE_MS: '500', SHUTDOWN_TIMEOUT_MS: '5000' }));
    const exited = new Promise<number | string>((resolve) => proc.child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    try {
      await proc.waitForLog((l) => l.msg === 'worker started');
      const job = await h.createJob({
        steps: [{
          name: 'stubborn', phase: 'EXECUTION', type: 'COMMAND',
          spec: { shell: '/bin/sh', script: "trap '' TERM\necho \"pid $$\"\nwhile :; do sleep 0.05; done", killGraceMs: 30_000 },
        }],
      });
      await h.dispatch(job.id, 1);
      const pid = Number(/pid (\d+)/.exec(await h.stdout(job.id, (t) => t.includes('pid ')))![1]);
      proc.child.kill('SIGTERM');
      expect(await exited).toBe(0);
      // Handed back, free: not left RUNNING for the lost-worker duty to fail.
      expect(await h.job(job.id)).toMatchObject({ status: 'QUEUED', attempt: 2, failures: 0, worker_id: null });
      expect((await h.events(job.id)).at(-1)).toMatchObject({ type: 'job.queued', payload: { reason: 'handed_back' } });
      expect(await gone(pid)).toBe(true);
    } finally {
      await proc.stop('SIGKILL');
    }
  });

  it("keeps the worker's own environment out of a COMMAND's", async () => {
    const proc = startService('worker', env({
      WORKER_ID: 'env-worker',
      WORKER_COMMAND_ENV: 'PATH,GANTRY_TEST_VISIBLE',
      GANTRY_TEST_VISIBLE: 'yes',
      GANTRY_TEST_HIDDEN: 'no',
      AI_API_KEY: 'sk-very-secret',
      NATS_URL: 'nats://127.0.0.1:4222',
    }));
    try {
      await proc.waitForLog((l) => l.msg === 'worker started');
      const job = await h.createJob({ steps: [{ name: 'env', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['env'] } }] });
      await h.dispatch(job.id, 1);
      await h.published(job.id, (e) => e.type === 'job.completed');
      const seen = (await h.steps(job.id))[0]!.output_tail!;
      const names = seen.trim().split('\n').map((l) => l.slice(0, l.indexOf('='))).sort();
      expect(names).toEqual(['GANTRY_ATTEMPT', 'GANTRY_JOB_DIR', 'GANTRY_JOB_ID', 'GANTRY_STEP_ID', 'GANTRY_STEP_NAME', 'GANTRY_TEST_VISIBLE', 'GANTRY_WORKSPACE_ID', 'HOME', 'PATH', 'TEMP', 'TMP', 'TMPDIR']);
      expect(seen).not.toContain(h.dbUrl);
      expect(seen).not.toContain('sk-very-secret');
    } finally {
      expect(await proc.stop('SIGTERM')).toBe(0);
    }
  });
});
