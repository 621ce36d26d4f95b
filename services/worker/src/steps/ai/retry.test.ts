import { describe, expect, it } from 'vitest';
import { aiRetryDelayMs } from '../ai-action.js';
import { retryAfterMs } from './openai-compatible.js';

describe('AI retries', () => {
  it('reads Retry-After as seconds or an HTTP date', () => {
    expect(retryAfterMs('2')).toBe(2_000);
    expect(retryAfterMs('0.5')).toBe(500);
    expect(retryAfterMs(new Date(10_000).toUTCString(), 4_000)).toBe(6_000);
    expect(retryAfterMs(null)).toBeUndefined();
    expect(retryAfterMs('soon')).toBeUndefined();
  });

  it('backs off exponentially with jitter, or as the server asks, capped at a minute', () => {
    expect(aiRetryDelayMs(1, 100, undefined, () => 0)).toBe(50);
    expect(aiRetryDelayMs(3, 100, undefined, () => 0.999_999)).toBe(400);
    expect(aiRetryDelayMs(30, 100, undefined, () => 0.999_999)).toBe(60_000);
    expect(aiRetryDelayMs(1, 100, 7_000, () => 0)).toBe(7_000);
    expect(aiRetryDelayMs(1, 100, 600_000, () => 0)).toBe(60_000);
  });
});
