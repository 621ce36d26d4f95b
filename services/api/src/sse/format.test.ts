import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@gantry/contracts';
import { eventMessage, KEEPALIVE, parseLastEventId, retryField } from './format.js';

const event: JobEvent = {
  v: 1,
  id: '0190a6d2-0000-7000-8000-000000000001',
  jobId: '0190a6d2-0000-7000-8000-000000000002',
  workspaceId: '0190a6d2-0000-7000-8000-000000000003',
  stepId: null,
  sequence: 7,
  attempt: 1,
  actor: 'worker:w1',
  at: '2026-01-01T00:00:00.000Z',
  type: 'step.output',
  payload: { stream: 'stdout', offset: 0, chunk: 'line one\nline two\n' },
};

describe('the SSE format', () => {
  it('writes an event as one message with its sequence as id and the event as one line of JSON', () => {
    const text = eventMessage(event);
    expect(text).toBe(`id: 7\ndata: ${JSON.stringify(event)}\n\n`);
    expect(text.trimEnd().split('\n')).toHaveLength(2);
  });

  it('writes the retry hint and keep-alive comments', () => {
    expect(retryField(2000)).toBe('retry: 2000\n\n');
    expect(KEEPALIVE.startsWith(':')).toBe(true);
  });

  it('reads Last-Event-ID', () => {
    expect(parseLastEventId(undefined)).toBeUndefined();
    expect(parseLastEventId(' ')).toBeUndefined();
    expect(parseLastEventId('42')).toBe(42);
    expect(parseLastEventId(['5', '6'])).toBe(5);
    for (const bad of ['-1', '4.2', 'abc', '99999999999']) {
      expect(() => parseLastEventId(bad)).toThrow(expect.objectContaining({ code: 'VALIDATION_FAILED' }));
    }
  });
});
