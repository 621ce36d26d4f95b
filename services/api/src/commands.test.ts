import { describe, expect, it } from 'vitest';
import { SubmitCommand } from '@gantry/contracts';
import { jobSpec } from '@gantry/testkit';
import { derivedCommandId, submitCommand } from './commands.js';

describe('commands', () => {
  it('derive ids that are valid UUIDs, stable for the same parts and different otherwise', () => {
    const a = derivedCommandId('retry', 'job', 3);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedCommandId('retry', 'job', 3)).toBe(a);
    expect(derivedCommandId('retry', 'job', 4)).not.toBe(a);
    expect(derivedCommandId('retry', 'jo', 'b3')).not.toBe(derivedCommandId('retry', 'job', 3));
  });

  it('announce a stored job with a submit command the contracts accept, its id the job id', () => {
    const jobId = '0190a6d2-0000-7000-8000-000000000002';
    const command = submitCommand('0190a6d2-0000-7000-8000-000000000003', jobId, jobSpec(), 'api:t', new Date().toISOString());
    expect(SubmitCommand.parse(JSON.parse(JSON.stringify(command)))).toMatchObject({ id: jobId, jobId, kind: 'submit', v: 1 });
  });
});
