/**
 * The retry policy as a pure function, so that every service computes the same schedule.
 */
import type { BackoffPolicy } from './jobs.js';

/**
 * Milliseconds to wait before the next attempt after the `failures`-th failed attempt
 * (1 for the first). Exponential doubles from `initialMs`, fixed stays at it; both are capped
 * at `maxMs`, then up to `jitter` of the delay is taken off at random so that jobs failing
 * together do not retry together. `random` returns a number in [0, 1).
 */
export function retryDelayMs(policy: BackoffPolicy, failures: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, failures - 1);
  const base = policy.kind === 'fixed' ? policy.initialMs : policy.initialMs * 2 ** Math.min(exponent, 52);
  const capped = Math.min(base, policy.maxMs);
  return Math.round(capped * (1 - policy.jitter * random()));
}

/** True when a job that has failed `failures` times may run again under `maxAttempts`. */
export function hasAttemptsLeft(failures: number, maxAttempts: number): boolean {
  return failures < maxAttempts;
}
