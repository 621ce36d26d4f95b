import { describe, expect, it } from 'vitest';
import { hasAttemptsLeft, retryDelayMs } from './retry.js';

const exponential = { kind: 'exponential', initialMs: 1000, maxMs: 30_000, jitter: 0 } as const;

describe('retryDelayMs', () => {
  it('doubles from initialMs per failure and stops at maxMs', () => {
    expect([1, 2, 3, 4, 5, 6, 7].map((f) => retryDelayMs(exponential, f))).toEqual([
      1000, 2000, 4000, 8000, 16000, 30000, 30000,
    ]);
  });

  it('stays at initialMs for a fixed policy', () => {
    expect([1, 5, 50].map((f) => retryDelayMs({ ...exponential, kind: 'fixed' }, f))).toEqual([1000, 1000, 1000]);
  });

  it('takes at most the jitter fraction off, at random', () => {
    const policy = { ...exponential, jitter: 0.25 };
    expect(retryDelayMs(policy, 3, () => 0)).toBe(4000);
    expect(retryDelayMs(policy, 3, () => 0.999999)).toBe(3000);
    expect(retryDelayMs(policy, 3, () => 0.5)).toBe(3500);
  });

  it('never overflows for huge failure counts', () => {
    expect(retryDelayMs(exponential, 10_000)).toBe(30_000);
  });
});

describe('hasAttemptsLeft', () => {
  it('allows attempts until failures reach maxAttempts', () => {
    expect([0, 1, 2, 3].map((f) => hasAttemptsLeft(f, 3))).toEqual([true, true, true, false]);
  });
});
