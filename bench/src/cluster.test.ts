import { describe, expect, it } from 'vitest';
import { percentile } from './cluster.js';

describe('percentile', () => {
  it('takes the nearest rank, numerically', () => {
    expect(percentile([10, 9, 1, 100], 50)).toBe(9);
    expect(percentile([10, 9, 1, 100], 100)).toBe(100);
    expect(percentile([10, 9, 1, 100], 0)).toBe(1);
  });

  it('has no value for no values, printed as null rather than a figure of 0', () => {
    expect(percentile([], 99)).toBeNaN();
    expect(JSON.stringify({ p99Ms: percentile([], 99) })).toBe('{"p99Ms":null}');
  });
});
