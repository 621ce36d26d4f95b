import { describe, expect, it } from 'vitest';
import { derivedUuid, uuidv7 } from './ids.js';

describe('uuidv7', () => {
  it('is a version 7, variant 10 UUID', () => {
    expect(uuidv7()).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  });

  it('sorts in creation order, even many within one millisecond', () => {
    const ids = Array.from({ length: 10_000 }, () => uuidv7());
    expect([...ids].sort()).toEqual(ids);
    expect(new Set(ids).size).toBe(ids.length);
  });

  it('carries the creation time in its first 48 bits', () => {
    const before = Date.now();
    const id = uuidv7();
    const ms = parseInt(id.replace(/-/g, '').slice(0, 12), 16);
    expect(ms).toBeGreaterThanOrEqual(before);
    expect(ms).toBeLessThanOrEqual(Date.now() + 1);
  });
});

describe('derivedUuid', () => {
  it('derive ids that are valid UUIDs, stable for the same parts and different otherwise', () => {
    const a = derivedUuid('retry', 'job', 3);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(derivedUuid('retry', 'job', 3)).toBe(a);
    expect(derivedUuid('retry', 'job', 4)).not.toBe(a);
    expect(derivedUuid('retry', 'jo', 'b3')).not.toBe(derivedUuid('retry', 'job', 3));
  });
});
