/**
 * The COMMAND sandbox as a job sees it, in a real worker process: the worker's environment
 * (database URL, NATS credentials, API keys) does not reach a step's process, not even through
 * `/proc/<worker pid>/environ` when the step runs as another user; with a range of users, a job
 * running beside another reads neither its files nor its environment; ARTIFACT paths
 * cannot leave the job directory by a symbolic link to a file or by an absolute path. Output
 * caps are checked in `command.int.test.ts` ("caps the output").
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { startService } from '@gantry/testkit';
import type { WorkerSettings } from '../settings.js';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();

async function waitForEnd(jobId: string): Promise<string> {
  for (;;) {
    const { status } = await h.job(jobId);
    if (['COMPLETED', 'FAILED', 'CANCELLED'].includes(status)) return status;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Runs a real worker process with `env` added to its environment, and one job of one `/bin/sh`
 * script step on it; the job's id, status, the step's exit code and its output.
 */
async function stepInWorkerProcess(env: Record<string, string>, script: string) {
  const worker = startService('worker', {
    DATABASE_URL: h.dbUrl,
    GANTRY_NAMESPACE: h.ns.namespace,
    METRICS_PORT: '0',
    HTTP_HOST: '127.0.0.1',
    WORKER_WORK_DIR: h.workRoot,
    ...env,
  });
  try {
    await worker.waitForLog((l) => l.msg === 'health server listening');
    const job = await h.createJob({ maxAttempts: 1, steps: [{ name: 'peek', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script } }] });
    await h.dispatch(job.id, 1);
    const status = await waitForEnd(job.id);
    const [step] = await h.steps(job.id);
    const { rows } = await h.pool.query(
      `SELECT coalesce(string_agg(payload->>'chunk', '' ORDER BY sequence), '') AS out FROM job_events WHERE job_id = $1 AND type = 'step.output'`,
      [job.id],
    );
    return { jobId: job.id, status, exitCode: step!.exit_code, output: rows[0].out as string };
  } finally {
    expect(await worker.stop('SIGTERM')).toBe(0);
  }
}

describe('the COMMAND sandbox', () => {
  it('gives a step none of the worker process’s secrets (real worker process, real `env`)', async () => {
    const secrets = {
      AI_API_KEY: 'sk-sandbox-secret-1',
      NATS_TOKEN: 'nats-sandbox-secret-2',
      GANTRY_API_TOKEN: 'gantry_sandbox_secret_3',
      AWS_SECRET_ACCESS_KEY: 'aws-sandbox-secret-4',
    };
    const { jobId, status, output } = await stepInWorkerProcess(secrets, 'env');
    expect(status).toBe('COMPLETED');
    const env = Object.fromEntries(output.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
    expect(env.GANTRY_JOB_ID).toBe(jobId);
    for (const name of ['DATABASE_URL', 'NATS_URL', 'GANTRY_NAMESPACE', ...Object.keys(secrets)]) expect(env[name], name).toBeUndefined();
    for (const value of [h.dbUrl, ...Object.values(secrets)]) expect(output).not.toContain(value);
  });

  // The parent of the script's shell is the worker process itself.
  const PEEK = 'id -u; id -g; tr "\\0" "\\n" < /proc/$PPID/environ && echo READ-ENVIRON; cat /proc/$PPID/cmdline > /dev/null && echo READ-CMDLINE';

  it.runIf(process.getuid?.() === 0)('runs a step of a root worker as nobody: the worker’s /proc/<pid>/environ is closed to it', async () => {
    const secrets = { AI_API_KEY: 'sk-proc-secret-1', NATS_TOKEN: 'nats-proc-secret-2' };
    const { exitCode, output } = await stepInWorkerProcess(secrets, PEEK);
    expect(output).toMatch(/^65534\n65534\n/);
    expect(output).toContain('Permission denied');
    expect(output).not.toContain('READ-ENVIRON');
    for (const value of [h.dbUrl, ...Object.values(secrets)]) expect(output).not.toContain(value);
    // Not a dead process: what other users may read of it, the step reads.
    expect(output).toContain('READ-CMDLINE');
    expect(exitCode).toBe(0);
  });

  it.runIf(process.getuid?.() === 0)('the same step under WORKER_STEP_USER=worker reads the worker’s secrets: why the default is another user', async () => {
    const secrets = { AI_API_KEY: 'sk-proc-secret-3' };
    const { output } = await stepInWorkerProcess({ ...secrets, WORKER_STEP_USER: 'worker' }, PEEK);
    expect(output).toMatch(/^0\n0\n/);
    expect(output).toContain('READ-ENVIRON');
    expect(output).toContain(secrets.AI_API_KEY);
  });

  /**
   * Job A holds a secret in its directory and its environment while job B, running at the same
   * time on the same worker, looks for both; B's output.
   */
  async function neighbourLooks(settings: Partial<WorkerSettings>): Promise<string> {
    const { worker } = await h.startWorker({ settings: { concurrency: 2, ...settings } });
    const a = await h.createJob({
      maxAttempts: 1,
      steps: [{ name: 'hold', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: 'echo secret-of-a > mine.txt; echo ready; sleep 3', env: { MARK: 'marker-of-a' } } }],
    });
    const aDir = join(h.workRoot, `${a.id}.1`, 'work');
    const b = await h.createJob({
      maxAttempts: 1,
      steps: [{
        name: 'look', phase: 'EXECUTION', type: 'COMMAND',
        spec: { shell: '/bin/sh', script: 'cat "$ADIR/mine.txt" 2>/dev/null || echo CANNOT-READ-FILE; grep -l marker-of-a /proc/[0-9]*/environ 2>/dev/null || echo CANNOT-FIND-ENV', env: { ADIR: aDir } },
      }],
    });
    const aEnded = worker.signals.next('attemptEnded', (e) => e.jobId === a.id);
    await h.dispatch(a.id, 1);
    await h.stdout(a.id, (t) => t.includes('ready'));
    expect(await h.run(worker, b.id)).toBe('COMPLETED');
    await aEnded;
    return h.stdout(b.id, (t) => t.length > 0);
  }

  it.runIf(process.getuid?.() === 0)('gives each running job a user of its own from a WORKER_STEP_USER range: a neighbour reads neither its files nor its environment', async () => {
    const output = await neighbourLooks({ stepUsers: { first: { uid: 100_000, gid: 100_000 }, count: 2 } });
    expect(output).toContain('CANNOT-READ-FILE');
    expect(output).toContain('CANNOT-FIND-ENV');
    expect(output).not.toContain('secret-of-a');
  });

  it.runIf(process.getuid?.() === 0)('with one shared user (the default) the neighbour reads both: why a range is offered', async () => {
    const output = await neighbourLooks({});
    expect(output).toContain('secret-of-a');
    expect(output).toMatch(/\/proc\/\d+\/environ/);
  });

  it('refuses an ARTIFACT path that is a symbolic link to a file outside the job directory', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 3,
      steps: [
        { name: 'link', phase: 'SETUP', type: 'COMMAND', spec: { argv: ['ln', '-s', '/etc/passwd', 'passwd'] } },
        { name: 'steal', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path: 'passwd' } },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    expect((await h.steps(job.id))[1]!.error).toMatchObject({ code: 'PATH_ESCAPES_JOB_DIR' });
    const { rows } = await h.pool.query(`SELECT count(*)::int AS n FROM job_events WHERE job_id = $1 AND type = 'artifact.created'`, [job.id]);
    expect(rows[0].n).toBe(0);
  });

  it('refuses absolute and parent paths already at submission', async () => {
    for (const path of ['/etc/passwd', '../../etc/passwd', 'a/../../x']) {
      await expect(h.createJob({ steps: [{ name: 'steal', phase: 'EXECUTION', type: 'ARTIFACT', spec: { path } }] })).rejects.toMatchObject({
        code: 'VALIDATION_FAILED',
      });
    }
  });
});
