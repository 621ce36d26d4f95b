import { describe, expect, it } from 'vitest';
import { statement } from './statement.js';

describe('statement', () => {
  it('gives a query config with its name, text and the values of the call', () => {
    const load = statement('test_load', 'SELECT $1::int AS n');
    expect(load([7])).toEqual({ name: 'test_load', text: 'SELECT $1::int AS n', values: [7] });
  });

  it('refuses one name for two texts (PostgreSQL would run the first text under the second name)', () => {
    statement('test_twice', 'SELECT 1');
    expect(() => statement('test_twice', 'SELECT 1')).not.toThrow();
    expect(() => statement('test_twice', 'SELECT 2')).toThrow(/two texts/);
  });
});
