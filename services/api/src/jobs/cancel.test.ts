import { describe, expect, it } from 'vitest';
import { BulkCancelStopped } from './cancel.js';

describe('BulkCancelStopped', () => {
  it('answers a driver error that stopped a bulk cancel as the API answers any: PostgreSQL gone is 503, not 500', () => {
    // What node-postgres throws for a page's read when PostgreSQL restarts.
    const gone = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' });
    const stopped = new BulkCancelStopped({ matched: 1_500, cancelled: 1_000, cancelRequested: 2 }, gone);
    expect(stopped.code).toBe('UNAVAILABLE');
    expect(stopped.message).toBe('the bulk cancel stopped after cancelling 1000 jobs and requesting the cancel of 2 running ones: PostgreSQL is unavailable; repeat the request to cancel the rest');
    // Nor does a driver's own text reach the caller for an error that is not the caller's.
    const odd = new BulkCancelStopped({ matched: 1, cancelled: 1, cancelRequested: 0 }, Object.assign(new Error('relation "x" does not exist'), { code: '42P01' }));
    expect([odd.code, odd.message.includes('relation')]).toEqual(['INTERNAL', false]);
    const fault = new BulkCancelStopped({ matched: 1, cancelled: 1, cancelRequested: 0 }, new TypeError('x is undefined'));
    expect([fault.code, fault.message.includes('internal error'), fault.message.includes('database')]).toEqual(['INTERNAL', true, false]);
  });
});
