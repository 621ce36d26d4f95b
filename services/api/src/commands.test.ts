import { describe, expect, it } from 'vitest';
import { SubmitCommand } from '@gantry/contracts';
import { derivedCommandId, submitCommand } from './commands.js';

describe('commands', () => {
  it('derive ids that are valid UUIDs, stable for the same parts and different otherwise', () => {
    const a = derivedCommandId('retry', 'job', 3);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedCommandId('retry', 'job', 3)).toBe(a);
    expect(derivedCommandId('retry', 'job', 4)).not.toBe(a);
    expect(derivedCommandId('retry', 'jo', 'b3')).not.toBe(derivedCommandId('retry', 'job', 3));
  });

  it('announce stored jobs by id with a submit command the contracts accept: one job’s id is the command id, several derive it', () => {
    const [a, b] = ['0190a6d2-0000-7000-8000-000000000002', '0190a6d2-0000-7000-8000-000000000004'];
    const ws = '0190a6d2-0000-7000-8000-000000000003';
    const one = submitCommand(ws, [a], 'api:t', new Date().toISOString(), 50);
    expect(SubmitCommand.parse(JSON.parse(JSON.stringify(one)))).toMatchObject({ id: a, jobs: [{ jobId: a }], kind: 'submit', v: 1, priority: 50 });
    const two = submitCommand(ws, [a, b], 'api:t', new Date().toISOString(), 90);
    expect(SubmitCommand.parse(JSON.parse(JSON.stringify(two)))).toMatchObject({ id: derivedCommandId('submit', a, b), jobs: [{ jobId: a }, { jobId: b }], priority: 90 });
    expect(two.id).not.toBe(a);
  });
});
