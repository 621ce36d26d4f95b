import { describe, expect, it } from 'vitest';
import { SubmitCommand } from '@gantry/contracts';
import { derivedUuid } from '@gantry/store';
import { submitCommand } from './commands.js';

describe('commands', () => {
  it('announce stored jobs by id with a submit command the contracts accept: one job’s id is the command id, several derive it', () => {
    const [a, b] = ['0190a6d2-0000-7000-8000-000000000002', '0190a6d2-0000-7000-8000-000000000004'];
    const ws = '0190a6d2-0000-7000-8000-000000000003';
    const one = submitCommand(ws, [a], 'api:t', new Date().toISOString(), 50);
    expect(SubmitCommand.parse(JSON.parse(JSON.stringify(one)))).toMatchObject({ id: a, jobs: [{ jobId: a }], kind: 'submit', v: 1, priority: 50 });
    const two = submitCommand(ws, [a, b], 'api:t', new Date().toISOString(), 90);
    expect(SubmitCommand.parse(JSON.parse(JSON.stringify(two)))).toMatchObject({ id: derivedUuid('submit', a, b), jobs: [{ jobId: a }, { jobId: b }], priority: 90 });
    expect(two.id).not.toBe(a);
  });
});
