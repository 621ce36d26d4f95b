import { describe, expect, it } from 'vitest';
import { needsRun, progressOf, runOrder } from './step-order.js';

describe('runOrder', () => {
  it('orders by phase, then ordinal, without touching the input', () => {
    const steps = [
      { name: 'c', phase: 'CLEANUP' as const, ordinal: 0 },
      { name: 'v', phase: 'VALIDATION' as const, ordinal: 1 },
      { name: 'e2', phase: 'EXECUTION' as const, ordinal: 3 },
      { name: 's', phase: 'SETUP' as const, ordinal: 4 },
      { name: 'e1', phase: 'EXECUTION' as const, ordinal: 2 },
    ];
    expect(runOrder(steps).map((s) => s.name)).toEqual(['s', 'e1', 'e2', 'v', 'c']);
    expect(steps[0]!.name).toBe('c');
  });

  it('skips completed steps and reports progress below 100 until the job completes', () => {
    expect(needsRun({ status: 'COMPLETED' })).toBe(false);
    expect(needsRun({ status: 'PENDING' })).toBe(true);
    expect(needsRun({ status: 'RUNNING' })).toBe(true);
    expect([progressOf(0, 3), progressOf(1, 3), progressOf(2, 3), progressOf(3, 3), progressOf(0, 0)]).toEqual([0, 33, 66, 99, 0]);
  });
});
