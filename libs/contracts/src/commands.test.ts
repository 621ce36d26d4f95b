import { describe, expect, it } from 'vitest';
import { ApproveCommand, SubmitCommand, submittedJobs } from './commands.js';

const UPPER = '0193B8F2-7C1E-7A4D-9B3A-6E5F4D3C2B1A';
const lower = UPPER.toLowerCase();

describe('command ids', () => {
  it('are read in lower case, as PostgreSQL writes them, whatever case they arrive in', () => {
    const approve = ApproveCommand.parse({ v: 1, kind: 'approve', id: UPPER, workspaceId: UPPER, jobId: UPPER, stepId: UPPER, decision: 'approve' });
    expect([approve.id, approve.workspaceId, approve.jobId, approve.stepId]).toEqual([lower, lower, lower, lower]);
    const submit = SubmitCommand.parse({ v: 1, kind: 'submit', id: UPPER, workspaceId: UPPER, job: { type: 't', steps: [{ name: 's', phase: 'EXECUTION', type: 'NOOP' }] } });
    expect(submittedJobs(submit).map((j) => j.jobId)).toEqual([lower]);
  });

  it('still refuse what is not a UUID', () => {
    expect(ApproveCommand.safeParse({ v: 1, kind: 'approve', id: 'x', workspaceId: UPPER, jobId: UPPER, stepId: UPPER, decision: 'approve' }).success).toBe(false);
  });
});

describe('a batched submit', () => {
  const job = (idempotencyKey?: string) => ({ type: 't', steps: [{ name: 's', phase: 'EXECUTION', type: 'NOOP' }], ...(idempotencyKey === undefined ? {} : { idempotencyKey }) });
  const batch = (...keys: (string | undefined)[]) => ({
    v: 1, kind: 'submit', id: lower, workspaceId: lower,
    jobs: keys.map((k, i) => ({ jobId: `00000000-0000-4000-8000-00000000000${i}`, job: job(k) })),
  });

  it('refuses two jobs that share an idempotency key, as the API’s batch route does', () => {
    const parsed = SubmitCommand.safeParse(batch('a', undefined, 'b', 'a'));
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => [i.path.join('.'), i.message])).toEqual([['jobs.3.job.idempotencyKey', 'repeats the idempotency key of jobs.0']]);
    expect(SubmitCommand.safeParse(batch('a', undefined, undefined, 'b')).success).toBe(true);
  });
});
