import { describe, expect, it } from 'vitest';
import { parseWith } from '@gantry/contracts';
import { BulkCancelBody, EventsQuery, ListJobsQuery } from './schemas.js';

describe('query schemas', () => {
  it('read lists comma-separated or repeated, integers from text, and fill defaults', () => {
    expect(parseWith(ListJobsQuery, { status: ['PENDING,QUEUED', 'RUNNING'], priorityMin: '5' })).toEqual({
      status: ['PENDING', 'QUEUED', 'RUNNING'],
      priorityMin: 5,
      sort: '-createdAt',
      limit: 50,
    });
    expect(parseWith(EventsQuery, {})).toEqual({ after: 0, limit: 50 });
  });

  it('refuse values over a limit with LIMIT_EXCEEDED and the rest with VALIDATION_FAILED', () => {
    expect(() => parseWith(ListJobsQuery, { limit: '1000' })).toThrow(expect.objectContaining({ code: 'LIMIT_EXCEEDED' }));
    expect(() => parseWith(ListJobsQuery, { sort: 'name' })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
  });
});

describe('BulkCancelBody', () => {
  it('needs a criterion beyond the reason, and only active statuses', () => {
    expect(() => parseWith(BulkCancelBody, { reason: 'x' })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(() => parseWith(BulkCancelBody, {})).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(() => parseWith(BulkCancelBody, { status: ['FAILED'] })).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    expect(parseWith(BulkCancelBody, { status: ['RUNNING'], reason: 'x' })).toEqual({ status: ['RUNNING'], reason: 'x' });
  });
});
