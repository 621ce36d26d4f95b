/**
 * The checker must be able to fail: each broken history below is one the fault scenarios could
 * produce if a guarantee broke, and the checker names it.
 */
import { describe, expect, it } from 'vitest';
import { checkHistories, type EventRow, type JobRow } from './checker.js';

const J = '00000000-0000-4000-8000-000000000001';
const S1 = '00000000-0000-4000-8000-0000000000a1';

type Ev = [type: string, attempt: number, payload?: Record<string, unknown>, stepId?: string | null];

function history(events: Ev[]): EventRow[] {
  return events.map(([type, attempt, payload = {}, stepId = null], i) => ({
    jobId: J,
    sequence: i + 1,
    type,
    attempt,
    stepId,
    actor: 'test',
    payload,
  }));
}

const queued = (attempt: number, reason: string): Ev => ['job.queued', attempt - 1, { attempt, reason }];
const started = (attempt: number): Ev => ['job.started', attempt, { attempt, workerId: 'w' }];
const stepDone = (attempt: number): Ev => ['step.completed', attempt, {}, S1];
const completed = (attempt: number): Ev => ['job.completed', attempt];
const done: JobRow = { id: J, status: 'COMPLETED', attempt: 2 };

const CLEAN: Ev[] = [['job.created', 0], queued(1, 'submitted'), started(1), queued(2, 'worker_lost'), started(2), stepDone(2), completed(2)];

describe('checkHistories', () => {
  it('passes a clean history with a re-run and counts the re-run by reason', () => {
    const r = checkHistories([J], [done], history(CLEAN));
    expect(r.violations).toEqual([]);
    expect(r.reruns).toEqual({ worker_lost: 1 });
    expect(r.restartedAttempts).toBe(1);
    expect(r.statuses).toEqual({ COMPLETED: 1 });
  });

  it('names a lost job: accepted, no row', () => {
    expect(checkHistories([J], [], []).violations).toEqual([`job ${J}: accepted but has no row (lost)`]);
  });

  it('names a job that never ended', () => {
    const r = checkHistories([J], [{ id: J, status: 'RUNNING', attempt: 1 }], history(CLEAN.slice(0, 3)));
    expect(r.violations).toEqual([`job ${J}: has no terminal event (status RUNNING)`]);
  });

  it('names a job that finished twice', () => {
    const r = checkHistories([J], [done], history([...CLEAN, completed(2)]));
    expect(r.violations.join('\n')).toMatch(/2 terminal events/);
  });

  it('names a stale write: an event of an older attempt after the re-run was queued', () => {
    const r = checkHistories([J], [done], history([...CLEAN.slice(0, 5), stepDone(1), stepDone(2), completed(2)]));
    expect(r.violations.join('\n')).toMatch(/written by attempt 1 while attempt 2 is current/);
  });

  it('names a step settled twice within one attempt', () => {
    const r = checkHistories([J], [done], history([...CLEAN.slice(0, 6), stepDone(2), completed(2)]));
    expect(r.violations.join('\n')).toMatch(/settled twice in attempt 2/);
  });

  it('names a re-run without a new attempt or without a reason', () => {
    const same = history([['job.created', 0], queued(1, 'submitted'), started(1), queued(1, 'worker_lost'), started(1), completed(1)]);
    expect(checkHistories([J], [done], same).violations.join('\n')).toMatch(/opens attempt 1 after attempt 1[\s\S]*attempt 1 started twice/);
    const noReason = history([['job.created', 0], queued(1, 'submitted'), started(1), queued(2, 'submitted'), started(2), completed(2)]);
    expect(checkHistories([J], [done], noReason).violations.join('\n')).toMatch(/re-run \(attempt 2\) queued with reason submitted/);
  });

  it('names a status that disagrees with the terminal event, and work after it', () => {
    const r = checkHistories([J], [{ id: J, status: 'FAILED', attempt: 2 }], history([...CLEAN, stepDone(2)]));
    expect(r.violations.join('\n')).toMatch(/ends with job.completed but its status is FAILED[\s\S]*after the terminal event/);
  });
});
