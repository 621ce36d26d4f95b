import { describe, expect, it } from 'vitest';
import { createRateLimiter } from './rate-limit.js';

describe('createRateLimiter', () => {
  it('allows a burst, then refuses with the seconds until the next request is allowed', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 2, burst: 3, now: () => now });
    expect([1, 2, 3].map(() => limiter.take('a').allowed)).toEqual([true, true, true]);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    now += 499;
    expect(limiter.take('a').allowed).toBe(false);
    now += 2;
    expect(limiter.take('a').allowed).toBe(true);
  });

  it('takes a refunded request back into the bucket, never above its burst', () => {
    const limiter = createRateLimiter({ perSecond: 1, burst: 2, now: () => 0 });
    limiter.take('a');
    limiter.take('a');
    expect(limiter.take('a').allowed).toBe(false);
    limiter.refund('a');
    expect(limiter.take('a').allowed).toBe(true);
    limiter.refund('a');
    limiter.refund('a');
    limiter.refund('a');
    expect([limiter.take('a').allowed, limiter.take('a').allowed, limiter.take('a').allowed]).toEqual([true, true, false]);
  });

  it('keeps one bucket per key', () => {
    const limiter = createRateLimiter({ perSecond: 1, burst: 1, now: () => 0 });
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('rounds Retry-After up to whole seconds for slow rates', () => {
    const limiter = createRateLimiter({ perSecond: 0.1, burst: 1, now: () => 0 });
    limiter.take('a');
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 10 });
  });

  it('is off at 0 requests per second', () => {
    const limiter = createRateLimiter({ perSecond: 0, burst: 1, now: () => 0 });
    expect(Array.from({ length: 100 }, () => limiter.take('a').allowed).every(Boolean)).toBe(true);
  });

  it('forgets full buckets when it holds too many, never a bucket that is spending', () => {
    let now = 0;
    const limiter = createRateLimiter({ perSecond: 1, burst: 1, maxBuckets: 2, now: () => now });
    limiter.take('spent');
    now += 10_000;
    limiter.take('busy');
    limiter.take('new'); // 'spent' refilled long ago and is forgotten; 'busy' is kept
    expect(limiter.take('busy').allowed).toBe(false);
  });
});
