import { describe, expect, it } from 'vitest';
import { holdsStartEvent, holdsTerminalEvent } from './observer.js';

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

describe('holdsStartEvent', () => {
  it('finds a claim’s job.started among its events', () => {
    expect(holdsStartEvent(body('job.started', 'step.started'))).toBe(true);
  });

  it('ignores other events, and the type mentioned in a payload', () => {
    expect(holdsStartEvent(body('job.created', 'job.queued'))).toBe(false);
    expect(holdsStartEvent(new TextEncoder().encode(JSON.stringify({ events: [{ type: 'job.progress', payload: { note: '"type":"job.started' } }] })))).toBe(false);
  });
});
