import { readFile } from 'node:fs/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { Limits, type EventPayload, type JobEvent } from '@gantry/contracts';
import { typesOf, useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();

type Output = EventPayload<'step.output'>;

function outputs(events: readonly JobEvent[], stream: 'stdout' | 'stderr'): Output[] {
  return events.filter((e) => e.type === 'step.output').map((e) => e.payload as Output).filter((p) => p.stream === stream);
}

/** True when no process with `pid` is alive (a zombie waiting for its reaper counts as gone). */
async function gone(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

describe('COMMAND steps', () => {
  it('runs an argv in the job directory, streams stdout and stderr, records the exit code and tail', async () => {
    const { worker, metrics } = await h.startWorker();
    const job = await h.createJob({
      steps: [{
        name: 'say', phase: 'EXECUTION', type: 'COMMAND',
        spec: { argv: ['/bin/sh', '-c', 'pwd; echo "dir=$GANTRY_JOB_DIR"; echo "home=$HOME"; echo oops >&2; echo "own=$OWN"'], env: { OWN: 'mine' } },
      }],
    });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    const [step] = await h.steps(job.id);
    expect(step!.exit_code).toBe(0);
    const events = await h.events(job.id);
    const stdout = outputs(events, 'stdout').map((p) => p.chunk).join('');
    const [pwd, dir, home, own] = stdout.trim().split('\n');
    expect(dir).toBe(`dir=${pwd}`);
    expect(home).toBe(`home=${pwd}`);
    expect(own).toBe('own=mine');
    expect(pwd!.startsWith(h.workRoot)).toBe(true);
    expect(outputs(events, 'stderr').map((p) => p.chunk).join('')).toBe('oops\n');
    expect(step!.output_tail).toContain('oops\n');
    expect(step!.output_tail).toContain('own=mine');
    expect(step!.output).toMatchObject({ stdoutBytes: Buffer.byteLength(stdout), stderrBytes: 5, outputTruncated: false });
    expect(events.find((e) => e.type === 'step.completed')!.payload).toMatchObject({ exitCode: 0 });
    expect(await metrics.render()).toMatch(/^gantry_command_exits_total\{step_type="COMMAND",exit_class="ok"\} 1$/m);
  });

  it('runs a script with the shell it names, and steps share the job directory', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({
      steps: [
        { name: 'write', phase: 'SETUP', type: 'COMMAND', spec: { shell: '/bin/sh -e', script: 'mkdir -p data\necho hello > data/greeting\n' } },
        { name: 'read', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['cat', 'greeting'], cwd: 'data' } },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    expect((await h.steps(job.id))[1]!.output_tail).toBe('hello\n');
  });

  it('fails the step on a non-zero exit and keeps the exit code and the tail', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 1,
      steps: [{ name: 'fail', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['/bin/sh', '-c', 'echo before failing; exit 3'] } }],
    });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    const [step] = await h.steps(job.id);
    expect(step).toMatchObject({ status: 'FAILED', exit_code: 3, output_tail: 'before failing\n' });
    expect(step!.error).toMatchObject({ code: 'NON_ZERO_EXIT' });
    const failed = (await h.events(job.id)).find((e) => e.type === 'step.failed')!;
    expect(failed.payload).toMatchObject({ exitCode: 3, error: { code: 'NON_ZERO_EXIT' } });
  });

  it('fails a command that cannot start', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({ maxAttempts: 1, steps: [{ name: 'missing', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['/nonexistent/tool'] } }] });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    expect((await h.steps(job.id))[0]!.error).toMatchObject({ code: 'SPAWN_FAILED' });
  });

  it('caps the output: bounded UTF-8 chunks with contiguous offsets, a bounded total, the tail kept, NUL replaced', async () => {
    const { worker } = await h.startWorker({ settings: { maxStepOutputBytes: 40_000 } });
    // 150,000 bytes of two-byte characters, a NUL, then a marker at the very end.
    const script = `i=0; while [ $i -lt 1500 ]; do printf 'éééééééééééééééééééééééééééééééééééééééééééééééééé'; i=$((i+1)); done; printf 'x\\000y'; echo; echo THE-END`;
    const job = await h.createJob({ steps: [{ name: 'loud', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script } }] });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    const chunks = outputs(await h.events(job.id), 'stdout');
    let offset = 0;
    for (const c of chunks) {
      expect(c.offset).toBe(offset);
      const bytes = Buffer.byteLength(c.chunk);
      expect(bytes).toBeLessThanOrEqual(Limits.maxOutputChunkBytes);
      expect(c.chunk).not.toContain('\uFFFD');
      offset += bytes;
    }
    expect(offset).toBeLessThanOrEqual(40_000);
    expect(offset).toBeGreaterThan(40_000 - Limits.maxOutputChunkBytes);
    const [step] = await h.steps(job.id);
    expect(step!.output).toMatchObject({ outputTruncated: true, stdoutBytes: 150_000 + 3 + 1 + 8 });
    expect(Buffer.byteLength(step!.output_tail!)).toBeLessThanOrEqual(Limits.maxOutputTailBytes);
    expect(Buffer.byteLength(step!.output_tail!)).toBeGreaterThan(Limits.maxOutputTailBytes - 4);
    expect(step!.output_tail!.endsWith('x\uFFFDy\nTHE-END\n')).toBe(true);
  });

  it('kills the process group when the step times out', async () => {
    const { worker, metrics } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 1,
      steps: [
        { name: 'slow', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['sleep', '300'], timeoutMs: 300 } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    const [slow, cleanup] = await h.steps(job.id);
    expect(slow).toMatchObject({ status: 'FAILED', exit_code: 128 + 15 });
    expect(slow!.error).toMatchObject({ code: 'TIMEOUT' });
    expect(cleanup!.status).toBe('COMPLETED');
    expect(await metrics.render()).toMatch(/^gantry_command_exits_total\{step_type="COMMAND",exit_class="timeout"\} 1$/m);
  });

  it('on cancel, kills the whole process tree (SIGKILL for what ignores SIGTERM), runs CLEANUP, ends CANCELLED', async () => {
    const { worker } = await h.startWorker();
    const script = [
      'sleep 300 & echo "pid $!"',
      `/bin/sh -c 'sleep 300 & echo "pid $!"; wait' & echo "pid $!"`,
      `/bin/sh -c 'trap "" TERM; exec sleep 300' & echo "pid $!"`,
      'echo "pid $$"',
      'wait',
    ].join('\n');
    const job = await h.createJob({
      steps: [
        { name: 'tree', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script, killGraceMs: 300 } },
        { name: 'after', phase: 'VALIDATION', type: 'NOOP' },
        { name: 'cleanup', phase: 'CLEANUP', type: 'COMMAND', spec: { argv: ['true'] } },
      ],
    });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    await h.dispatch(job.id, 1);
    const text = await h.stdout(job.id, (t) => (t.match(/^pid \d+$/gm) ?? []).length >= 5);
    const pids = [...text.matchAll(/^pid (\d+)$/gm)].map((m) => Number(m[1]));
    expect(pids).toHaveLength(5);
    for (const pid of pids) expect(await gone(pid)).toBe(false);
    h.ns.nc.publish(h.ns.names.subjects.cancel(worker.id), JSON.stringify({ v: 1, jobId: job.id, attempt: 1, reason: 'cancelled' }));
    expect((await ended).outcome).toBe('CANCELLED');
    for (const pid of pids) expect(await gone(pid)).toBe(true);
    expect((await h.steps(job.id)).map((s) => s.status)).toEqual(['FAILED', 'SKIPPED', 'COMPLETED']);
    expect(typesOf(await h.events(job.id)).at(-1)).toBe('job.cancelled');
  });

  it('on cancel, waits out a spec killGraceMs longer than the worker\'s: the attempt ends only once its processes are gone', async () => {
    const { worker } = await h.startWorker({ settings: { killGraceMs: 100 } });
    const job = await h.createJob({
      steps: [
        { name: 'stubborn', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: 'echo "pid $$"; trap "" TERM; while :; do sleep 1; done', killGraceMs: 2_500 } },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    await h.dispatch(job.id, 1);
    const text = await h.stdout(job.id, (t) => /^pid \d+$/m.test(t));
    const pid = Number(/^pid (\d+)$/m.exec(text)![1]);
    h.ns.nc.publish(h.ns.names.subjects.cancel(worker.id), JSON.stringify({ v: 1, jobId: job.id, attempt: 1, reason: 'cancelled' }));
    expect((await ended).outcome).toBe('CANCELLED');
    // Given up on after the worker's 100 ms grace, the step would end while the shell, which
    // ignores SIGTERM, still ran until its SIGKILL at 2,500 ms.
    expect(await gone(pid)).toBe(true);
    expect((await h.steps(job.id)).map((s) => s.status)).toEqual(['FAILED', 'COMPLETED']);
  });

  describe('processes that leave the step’s process group', () => {
    const strays: number[] = [];
    afterAll(() => {
      for (const pid of strays) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });

    /** The pid a script printed as `pid N`. */
    async function printedPid(jobId: string): Promise<number> {
      const pid = Number(/^pid (\d+)$/m.exec(await h.stdout(jobId, (t) => /^pid \d+$/m.test(t)))![1]);
      strays.push(pid);
      return pid;
    }

    async function goneWithin(pid: number, ms: number): Promise<boolean> {
      for (const until = Date.now() + ms; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) if (await gone(pid)) return true;
      return gone(pid);
    }

    it('ends the step once the command exited, within the kill grace and a second, though a process of a new session holds its output', async () => {
      const { worker } = await h.startWorker();
      const job = await h.createJob({
        maxAttempts: 1,
        steps: [{ name: 'daemon', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: 'setsid sleep 60 & echo "pid $!"; sleep 0.5; echo main-done', killGraceMs: 300 } }],
      });
      const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
      await h.dispatch(job.id, 1);
      await printedPid(job.id);
      const outcome = await Promise.race([ended.then((e) => e.outcome), new Promise((r) => setTimeout(() => r('still running after 10 s'), 10_000))]);
      expect(outcome).toBe('COMPLETED');
      expect((await h.steps(job.id))[0]!.output_tail).toContain('main-done');
    });

    it('on cancel, kills a background job of a shell with job control (a process group of its own, in the step’s session)', async () => {
      const { worker } = await h.startWorker();
      const job = await h.createJob({
        steps: [
          { name: 'jobs', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['/bin/bash', '-c', 'set -m; sleep 60 & echo "pid $!"; wait'], killGraceMs: 300 } },
          { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
        ],
      });
      const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
      await h.dispatch(job.id, 1);
      const pid = await printedPid(job.id);
      expect(await gone(pid)).toBe(false);
      h.ns.nc.publish(h.ns.names.subjects.cancel(worker.id), JSON.stringify({ v: 1, jobId: job.id, attempt: 1, reason: 'cancelled' }));
      expect((await ended).outcome).toBe('CANCELLED');
      expect(await goneWithin(pid, 2_000)).toBe(true);
    });

    it('kills, and does not wait for, a background job of a shell with job control when the command exits', async () => {
      const { worker } = await h.startWorker();
      const job = await h.createJob({
        maxAttempts: 1,
        steps: [{ name: 'jobs', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['/bin/bash', '-c', 'set -m; sleep 60 >/dev/null 2>&1 & echo "pid $!"; sleep 0.3'], killGraceMs: 300 } }],
      });
      expect(await h.run(worker, job.id)).toBe('COMPLETED');
      const pid = Number(/^pid (\d+)$/m.exec(await h.stdout(job.id, (t) => /^pid \d+$/m.test(t)))![1]);
      strays.push(pid);
      expect(await goneWithin(pid, 2_000)).toBe(true);
    });

    it.runIf(process.getuid?.() === 0)('kills what a new session left running when the attempt’s own user (a WORKER_STEP_USER range) is given back', async () => {
      const { worker } = await h.startWorker({ settings: { stepUsers: { first: { uid: 100_010, gid: 100_010 }, count: 2 } } });
      const job = await h.createJob({
        maxAttempts: 1,
        steps: [{ name: 'daemon', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh', script: 'setsid sleep 60 >/dev/null 2>&1 </dev/null & echo "pid $!"; sleep 0.3' } }],
      });
      expect(await h.run(worker, job.id)).toBe('COMPLETED');
      const pid = Number(/^pid (\d+)$/m.exec(await h.stdout(job.id, (t) => /^pid \d+$/m.test(t)))![1]);
      strays.push(pid);
      expect(await goneWithin(pid, 2_000)).toBe(true);
    });
  });
});
