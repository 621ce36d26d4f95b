import { describe, expect, it } from 'vitest';
import { JOB_TRANSITIONS } from '@gantry/contracts';
import * as W from './writes.js';

const h: W.Holder = { actor: 'worker:w1', attempt: 3 };
const step = { id: 's1', name: 'build', phase: 'EXECUTION' as const, type: 'COMMAND' };
const error = { code: 'STEP_FAILED', message: 'no', stepId: 's1', retryable: true };
const NOW = Date.parse('2030-01-01T00:00:00.000Z');

describe('write builders', () => {
  it('claim: QUEUED → RUNNING with the worker, start and the deadline from the job’s timeout, and job.started', () => {
    const m = W.claim(h, 'w1');
    expect(m).toEqual({
      expect: ['QUEUED'], to: 'RUNNING',
      set: { workerId: 'w1', startedAt: 'now', deadlineAt: 'timeout' },
      events: [{ type: 'job.started', actor: 'worker:w1', attempt: 3, payload: { attempt: 3, workerId: 'w1' } }],
    });
  });

  it('retry (row 7): a new attempt and failure, the backoff as run_at, every step reset, job.queued of the new attempt', () => {
    const m = W.retry(h, { failures: 1, steps: [{ id: 'a' }, { id: 'b' }] as never }, error, 5_000, NOW);
    expect(m.set).toEqual({ attempt: 4, failures: 2, error, runAt: new Date(NOW + 5_000), dispatchedAt: null, workerId: null, queuedAt: 'now' });
    expect(m.steps).toEqual([{ stepId: 'a', status: 'PENDING' }, { stepId: 'b', status: 'PENDING' }]);
    expect(m.events).toEqual([{ type: 'job.queued', actor: 'worker:w1', attempt: 4, payload: { attempt: 4, reason: 'retry', runAt: '2030-01-01T00:00:05.000Z', error } }]);
  });

  it('fail (row 8), cancel (row 9), complete (row 6)', () => {
    expect(W.fail(h, { failures: 2 }, error)).toMatchObject({ to: 'FAILED', set: { failures: 3, error, completedAt: 'now', workerId: null }, events: [{ payload: { error, attempts: 3 } }] });
    expect(W.cancel(h, null)).toMatchObject({ to: 'CANCELLED', set: { completedAt: 'now', workerId: null }, events: [{ type: 'job.cancelled', payload: { reason: null, from: 'RUNNING' } }] });
    expect(W.complete(h, 12, { a: 1 })).toMatchObject({ to: 'COMPLETED', set: { progress: 100, result: { a: 1 }, completedAt: 'now', workerId: null }, events: [{ payload: { durationMs: 12, result: { a: 1 } } }] });
  });

  it('hand-back (row 14) keeps failures and completed steps, re-opens the interrupted step, and queues anew', () => {
    const m = W.handBack(h, 's1');
    expect(m.set).toEqual({ attempt: 4, dispatchedAt: null, workerId: null, queuedAt: 'now' });
    expect(m.steps).toEqual([{ stepId: 's1', status: 'PENDING' }]);
    expect(m.events[0]).toMatchObject({ type: 'job.queued', attempt: 4, payload: { attempt: 4, reason: 'handed_back', runAt: null } });
    expect(W.handBack(h, undefined).steps).toEqual([]);
  });

  it('park (row 15): WAITING without a worker, the gate step WAITING, its deadline', () => {
    const m = W.park(h, 's1', 'ok?', 1_000, NOW);
    expect(m).toMatchObject({ to: 'WAITING', set: { workerId: null, deadlineAt: new Date(NOW + 1_000) }, steps: [{ stepId: 's1', status: 'WAITING' }] });
    expect(m.events[0]).toMatchObject({ type: 'job.waiting', stepId: 's1', payload: { stepId: 's1', prompt: 'ok?' } });
    expect(W.park(h, 's1', undefined, undefined, NOW).set.deadlineAt).toBeNull();
  });

  it('every move is allowed by the job state machine from what it expects', () => {
    const moves = [W.claim(h, 'w'), W.complete(h, 0, null), W.retry(h, { failures: 0, steps: [] }, error, 0, NOW), W.fail(h, { failures: 0 }, error), W.cancel(h, null), W.handBack(h, undefined), W.park(h, 's', undefined, undefined, NOW)];
    for (const m of moves) for (const from of m.expect) expect(JOB_TRANSITIONS[from]).toContain(m.to);
  });

  it('step pieces record the attempt on each event and leave out what is unknown', () => {
    expect(W.stepStarted(h, step).steps[0]).toMatchObject({ status: 'RUNNING', attempt: 3, startedAt: 'now', error: null, exitCode: null });
    const done = W.stepCompleted(h, step, 5, {}, undefined);
    expect(done.events[0]).toEqual({ type: 'step.completed', actor: 'worker:w1', attempt: 3, stepId: 's1', payload: { durationMs: 5 } });
    expect(done.steps[0]).toEqual({ stepId: 's1', status: 'COMPLETED', completedAt: 'now', durationMs: 5 });
    const failed = W.stepFailed(h, step, 7, { exitCode: 2, outputTail: 'x' }, error);
    expect(failed.events[0]!.payload).toEqual({ durationMs: 7, error, exitCode: 2 });
    expect(failed.steps[0]).toMatchObject({ exitCode: 2, outputTail: 'x', status: 'FAILED' });
    expect(W.progressed(h, 50, 1, 2, false)).toEqual({ set: { progress: 50 }, events: [] });
  });
});
