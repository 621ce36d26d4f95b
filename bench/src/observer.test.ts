import { describe, expect, it } from 'vitest';
import { holdsTerminalEvent } from './observer.js';

const body = (...types: string[]) =>
  new TextEncoder().encode(JSON.stringify({ v: 1, jobId: 'j', workspaceId: 'w', events: types.map((type, i) => ({ sequence: i, type, payload: { note: 'job.completed' } })) }));

describe('holdsTerminalEvent', () => {
  it('finds a terminal event among a commit’s events', () => {
    expect(holdsTerminalEvent(body('step.completed', 'job.completed'))).toBe(true);
    expect(holdsTerminalEvent(body('job.failed'))).toBe(true);
    expect(holdsTerminalEvent(body('job.cancelled'))).toBe(true);
  });

  it('ignores other events, and a terminal type mentioned in a payload', () => {
    expect(holdsTerminalEvent(body('job.created', 'job.queued', 'job.started', 'step.completed'))).toBe(false);
  });
});
