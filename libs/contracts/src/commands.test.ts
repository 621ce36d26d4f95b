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
