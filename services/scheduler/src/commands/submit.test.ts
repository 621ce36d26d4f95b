import { describe, expect, it } from 'vitest';
import { roundRobin } from './submit.js';

const of = (workspaceId: string, n: number) => ({ job: { workspaceId }, n });

describe('roundRobin', () => {
  it('interleaves workspaces turn by turn and keeps each workspace’s order', () => {
    const flood = Array.from({ length: 5 }, (_, i) => of('a', i));
    const late = [of('b', 0), of('b', 1)];
    expect(roundRobin([...flood, ...late]).map((x) => `${x.job.workspaceId}${x.n}`)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'a3', 'a4']);
  });

  it('leaves a single workspace’s jobs as they were', () => {
    const jobs = Array.from({ length: 4 }, (_, i) => of('a', i));
    expect(roundRobin(jobs)).toEqual(jobs);
  });
});
