import { describe, expect, it } from 'vitest';
import type { JobEvent } from '@gantry/contracts';
import { recordingIo } from '../testing.js';
import { createWatchView, type WatchedJob } from './watch-view.js';

const JOB = '00000000-0000-4000-8000-000000000001';
const BUILD = '00000000-0000-4000-8000-0000000000b1';
const GATE = '00000000-0000-4000-8000-0000000000b2';
const job: WatchedJob = {
  id: JOB,
  type: 'ci',
  status: 'QUEUED',
  progress: 0,
  steps: [
    { id: BUILD, ordinal: 0, name: 'build', phase: 'EXECUTION', type: 'COMMAND' },
    { id: GATE, ordinal: 1, name: 'release', phase: 'VALIDATION', type: 'GATE' },
  ],
};
let seq = 0;
const ev = (type: string, payload: unknown, stepId: string | null = null) =>
  ({ v: 1, id: JOB, jobId: JOB, workspaceId: JOB, stepId, sequence: ++seq, attempt: 1, actor: 't', at: '2030-01-01T12:00:01.000Z', type, payload }) as JobEvent;

const run = [
  ev('job.started', { attempt: 1, workerId: 'w1' }),
  ev('step.started', { name: 'build', phase: 'EXECUTION', type: 'COMMAND' }, BUILD),
  ev('step.output', { stream: 'stdout', offset: 0, chunk: 'compiling\nlink' }, BUILD),
  ev('step.output', { stream: 'stdout', offset: 14, chunk: 'ing\n' }, BUILD),
  ev('step.output', { stream: 'stderr', offset: 0, chunk: 'warning: no tail' }, BUILD),
  ev('step.completed', { durationMs: 1500, exitCode: 0 }, BUILD),
  ev('job.progress', { progress: 50, completedSteps: 1, totalSteps: 2 }),
  ev('job.waiting', { stepId: GATE, prompt: 'ship?' }, GATE),
];

describe('the watch view', () => {
  it('prints one line per event and whole output lines when not on a terminal', () => {
    const io = recordingIo({});
    const view = createWatchView(job, io, false);
    for (const e of run) view.apply(e);
    view.finish();
    expect(io.stdout).toEqual([
      '12:00:01  job started on w1 (attempt 1)',
      '12:00:01  step build started (EXECUTION COMMAND)',
      '[build] compiling',
      '[build] linking',
      '[build!] warning: no tail',
      '12:00:01  step build completed in 1.5s (exit 0)',
      '12:00:01  progress 50% (1/2 steps)',
      '12:00:01  job waiting for approval of step release: ship?',
      `  approve: gantry approve ${JOB} ${GATE}   reject: gantry reject ${JOB} ${GATE}`,
    ]);
  });

  it('redraws the steps with their bars in place on a terminal, output scrolling above', () => {
    const io = recordingIo({});
    const view = createWatchView(job, io, true);
    for (const e of run) view.apply(e);
    view.finish();
    const last = io.stdout.at(-1)!;
    expect(last.startsWith('\x1b[3F\x1b[J')).toBe(true);
    expect(last).toContain(`job ${JOB}  ci  WAITING  [##########----------] 50%`);
    expect(last).toMatch(/✓ build\s+EXECUTION\s+COMMAND\s+\[#{20}\] completed 1\.5s/);
    expect(last).toMatch(/⏸ release\s+VALIDATION\s+GATE\s+\[-{20}\] waiting/);
    expect(io.stdout.join('\n')).toContain('[build] linking');
  });
});
