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

describe('text from a job', () => {
  // A step name that would set the clipboard (OSC 52), output that would clear the screen and
  // hide what follows, a prompt with a newline and a right-to-left override.
  const hostile: WatchedJob = {
    ...job,
    type: 'ci\x1b]0;owned\x07',
    steps: [{ id: BUILD, ordinal: 0, name: 'a\x1b]52;c;eA==\x07', phase: 'EXECUTION', type: 'COMMAND' }, job.steps[1]!],
  };
  const events = [
    ev('step.started', { name: 'a\x1b]52;c;eA==\x07', phase: 'EXECUTION', type: 'COMMAND' }, BUILD),
    ev('step.output', { stream: 'stdout', offset: 0, chunk: '\x1b[2J\x1b[8mhi\x9b2J\n' }, BUILD),
    ev('job.waiting', { stepId: GATE, prompt: 'ship?\n12:00:02  job COMPLETED \u202egnp.exe' }, GATE),
  ];

  it('reaches no terminal as control characters, in plain lines or in the redrawn view', () => {
    for (const tty of [false, true]) {
      const io = recordingIo({});
      const view = createWatchView(hostile, io, tty);
      for (const e of events) view.apply(e);
      view.finish();
      // The view's own redraw sequence (ESC [ n F, ESC [ J) is the only escape a line may hold.
      const text = io.stdout.join('\n').replace(/\x1b\[\d+F\x1b\[J/g, '');
      expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e]/);
      expect(text).toContain('a^[]52;c;eA==^G');
      expect(text).toContain('[a^[]52;c;eA==^G] ^[[2J^[[8mhi\\u009b2J');
      expect(text).toContain('ship?^J12:00:02  job COMPLETED \\u202egnp.exe');
    }
  });
});
