import { describe, expect, it } from 'vitest';
import { JobSpec, parseWith } from '@gantry/contracts';
import { acceptedJobView } from './views.js';
import { isSameJob } from '@gantry/store';

const spec = (overrides: Record<string, unknown> = {}) =>
  parseWith(JobSpec, {
    type: 'build',
    payload: { a: 1, b: { c: [1, 2] } },
    runAt: '2030-01-01T02:00:00+02:00',
    steps: [{ name: 'run', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['make'], env: { A: '1', B: '2' } } }],
    ...overrides,
  });

const stored = acceptedJobView({ id: 'j', workspaceId: 'w', spec: spec(), stepIds: ['s'], createdAt: '2026-01-01T00:00:00.000Z' });

describe('isSameJob', () => {
  it('ignores key order and how an instant is written', () => {
    expect(isSameJob(stored, spec({ payload: { b: { c: [1, 2] }, a: 1 }, runAt: '2030-01-01T00:00:00Z' }))).toBe(true);
    expect(isSameJob(stored, spec({ priority: 50 }))).toBe(true); // the default, written out
  });

  it('reads an instant finer than a microsecond as PostgreSQL stores it and node-postgres reads it back', () => {
    const readBack = (runAt: string) => acceptedJobView({ id: 'j', workspaceId: 'w', spec: spec({ runAt }), stepIds: ['s'], createdAt: '2026-01-01T00:00:00.000Z' });
    // PostgreSQL rounds .1239995 to .124000 (half to even), which reads back as .124.
    expect(isSameJob(readBack('2030-01-01T00:00:00.124Z'), spec({ runAt: '2030-01-01T00:00:00.1239995Z' }))).toBe(true);
    // .1239985 rounds to .123998: .123.
    expect(isSameJob(readBack('2030-01-01T00:00:00.123Z'), spec({ runAt: '2030-01-01T00:00:00.1239985Z' }))).toBe(true);
    // A fraction that rounds up to a whole second carries into it.
    expect(isSameJob(readBack('2030-01-01T00:00:01.000Z'), spec({ runAt: '2030-01-01T00:00:00.99999951Z' }))).toBe(true);
  });

  it('tells apart any field the submitter chose', () => {
    expect(isSameJob(stored, spec({ priority: 51 }))).toBe(false);
    expect(isSameJob(stored, spec({ payload: { a: 1, b: { c: [2, 1] } } }))).toBe(false);
    expect(isSameJob(stored, spec({ runAt: '2030-01-01T00:00:01Z' }))).toBe(false);
    expect(isSameJob(stored, spec({ pool: 'gpu' }))).toBe(false);
    expect(isSameJob(stored, spec({ steps: [{ name: 'run', phase: 'EXECUTION', type: 'COMMAND', spec: { argv: ['make', 'all'] } }] }))).toBe(false);
    expect(isSameJob(stored, spec({ maxAttempts: 4 }))).toBe(false);
  });
});
