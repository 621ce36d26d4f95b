import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, filterConditions } from './list.js';

const key = { s: '-createdAt', c: '2026-11-28T21:59:43.049123Z', i: '0190a6d2-0000-7000-8000-000000000001' };

describe('cursors', () => {
  it('carry the sort key of the last row, to the microsecond', () => {
    expect(decodeCursor(encodeCursor(key), '-createdAt')).toEqual(key);
    const byPriority = { ...key, s: 'priority', p: 40 };
    expect(decodeCursor(encodeCursor(byPriority), 'priority')).toEqual(byPriority);
  });

  it('are refused when forged, cut, or made for another sort', () => {
    const issue = (fn: () => unknown) => {
      try {
        fn();
      } catch (err) {
        return (err as { code: string; issues: { path: string }[] }).code + ':' + (err as { issues: { path: string }[] }).issues[0]!.path;
      }
      return 'accepted';
    };
    expect(issue(() => decodeCursor('garbage', '-createdAt'))).toBe('VALIDATION_FAILED:cursor');
    expect(issue(() => decodeCursor(encodeCursor(key).slice(0, 10), '-createdAt'))).toBe('VALIDATION_FAILED:cursor');
    expect(issue(() => decodeCursor(encodeCursor(key), 'createdAt'))).toBe('VALIDATION_FAILED:cursor');
    expect(issue(() => decodeCursor(encodeCursor({ ...key, s: 'priority' }), 'priority'))).toBe('VALIDATION_FAILED:cursor');
    expect(issue(() => decodeCursor(encodeCursor({ ...key, c: "2026-11-28'; DROP" }), '-createdAt'))).toBe('VALIDATION_FAILED:cursor');
  });
});

describe('filterConditions', () => {
  it('scopes by workspace first and binds every value as a parameter', () => {
    const params: unknown[] = [];
    const where = filterConditions('ws', { status: ['QUEUED', 'QUEUED', 'RUNNING'], type: "x' OR 1=1", priorityMin: 10, createdAfter: '2026-01-01T00:00:00Z' }, params);
    expect(where).toEqual([
      'j.workspace_id = $1',
      'j.status = ANY($2::text[])',
      'j.type = $3',
      'j.priority >= $4',
      "j.created_at >= date_trunc('milliseconds', $5::timestamptz) + interval '1 millisecond'",
    ]);
    expect(params).toEqual(['ws', ['QUEUED', 'RUNNING'], "x' OR 1=1", 10, '2026-01-01T00:00:00Z']);
  });
});
