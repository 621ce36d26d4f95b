import { describe, expect, it } from 'vitest';
import { applyWrites, withTransaction } from '@gantry/store';
import { typesOf, useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();

describe('GATE steps', () => {
  it('passes a command gate on exit 0 and fails it otherwise, with the output as comment', async () => {
    const { worker } = await h.startWorker();
    const pass = await h.createJob({ steps: [{ name: 'lint', phase: 'VALIDATION', type: 'GATE', spec: { kind: 'command', argv: ['/bin/sh', '-c', 'echo all good'] } }] });
    expect(await h.run(worker, pass.id)).toBe('COMPLETED');
    const passed = (await h.events(pass.id)).find((e) => e.type === 'gate.passed')!;
    expect(passed.payload).toEqual({ kind: 'command', comment: 'all good' });
    expect(typesOf(await h.events(pass.id)).slice(-3)).toEqual(['gate.passed', 'step.completed', 'job.completed']);

    const fail = await h.createJob({ maxAttempts: 1, steps: [{ name: 'lint', phase: 'VALIDATION', type: 'GATE', spec: { kind: 'command', argv: ['/bin/sh', '-c', 'echo 3 problems; exit 1'] } }] });
    expect(await h.run(worker, fail.id)).toBe('FAILED');
    const failed = (await h.events(fail.id)).find((e) => e.type === 'gate.failed')!;
    expect(failed.payload).toEqual({ kind: 'command', reason: 'the gate command exited with code 1', comment: '3 problems' });
    expect((await h.steps(fail.id))[0]).toMatchObject({ status: 'FAILED', exit_code: 1 });
    expect((await h.steps(fail.id))[0]!.error).toMatchObject({ code: 'GATE_FAILED' });
  });

  it('parks the job on an approval gate, frees the slot, and resumes after approval skipping completed steps', async () => {
    const { worker } = await h.startWorker({ settings: { concurrency: 1 } });
    const job = await h.createJob({
      steps: [
        { name: 'build', phase: 'SETUP', type: 'NOOP' },
        { name: 'approve', phase: 'EXECUTION', type: 'GATE', spec: { kind: 'approval', prompt: 'ship it?', timeoutMs: 3_600_000 } },
        { name: 'deploy', phase: 'EXECUTION', type: 'NOOP' },
        { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('WAITING');
    const parked = await h.job(job.id);
    expect(parked).toMatchObject({ status: 'WAITING', attempt: 1, worker_id: null });
    const deadlineIn = parked.deadline_at!.getTime() - parked.now.getTime();
    expect(deadlineIn).toBeGreaterThan(3_500_000);
    expect(deadlineIn).toBeLessThanOrEqual(3_600_000);
    const steps = await h.steps(job.id);
    expect(steps.map((s) => s.status)).toEqual(['COMPLETED', 'WAITING', 'PENDING', 'PENDING']);
    const waiting = (await h.events(job.id)).at(-1)!;
    expect(waiting).toMatchObject({ type: 'job.waiting', payload: { stepId: steps[1]!.id, prompt: 'ship it?' } });
    expect(worker.slots.busy).toBe(0);
    expect((await h.settledDispatch()).ackPending).toBe(0);

    // The one slot is free: another job runs while the first waits.
    const other = await h.createJob();
    expect(await h.run(worker, other.id)).toBe('COMPLETED');

    // The scheduler approves (row 16) and dispatches the next attempt.
    await withTransaction(h.pool, (client) =>
      applyWrites(client, [{
        jobId: job.id, attempt: 1, expect: ['WAITING'], to: 'QUEUED',
        set: { attempt: 2, dispatchedAt: null },
        steps: [{ stepId: steps[1]!.id, status: 'COMPLETED', completedAt: 'now' }],
        events: [
          { type: 'gate.passed', actor: 'api:test', stepId: steps[1]!.id, attempt: 1, payload: { kind: 'approval', decidedBy: 'alice' } },
          { type: 'job.queued', actor: 'scheduler', payload: { attempt: 2, reason: 'approved', runAt: null } },
        ],
      }]),
    );
    expect(await h.run(worker, job.id, 2)).toBe('COMPLETED');
    expect((await h.steps(job.id)).map((s) => s.status)).toEqual(['COMPLETED', 'COMPLETED', 'COMPLETED', 'COMPLETED']);
    const started = (await h.events(job.id)).filter((e) => e.type === 'step.started').map((e) => [(e.payload as { name: string }).name, e.attempt]);
    expect(started).toEqual([['build', 1], ['approve', 1], ['deploy', 2], ['cleanup', 2]]);
    expect((await h.job(job.id)).status).toBe('COMPLETED');
  });
});
