import { describe, expect, it } from 'vitest';
import {
  JOB_STATUSES,
  STEP_STATUSES,
  TERMINAL_JOB_STATUSES,
  isTerminalJobStatus,
  type JobStatus,
  type StepStatus,
} from './enums.js';
import { TERMINAL_EVENT_TYPES } from './events.js';
import {
  FINISHED_STEP_STATUSES,
  JOB_TRANSITIONS,
  STEP_TRANSITIONS,
  canTransitionJob,
  canTransitionStep,
  jobStatusesLeadingTo,
} from './state-machines.js';

/** The job machine written out independently of JOB_TRANSITIONS: every allowed move. */
const JOB_MOVES = new Set([
  'PENDING→QUEUED',
  'PENDING→CANCELLED',
  'QUEUED→RUNNING',
  'QUEUED→CANCELLED',
  'QUEUED→FAILED',
  'RUNNING→COMPLETED',
  'RUNNING→FAILED',
  'RUNNING→CANCELLED',
  'RUNNING→QUEUED',
  'RUNNING→WAITING',
  'WAITING→QUEUED',
  'WAITING→FAILED',
  'WAITING→CANCELLED',
  'FAILED→QUEUED',
  'CANCELLED→QUEUED',
]);

const STEP_MOVES = new Set([
  'PENDING→RUNNING',
  'PENDING→SKIPPED',
  'RUNNING→COMPLETED',
  'RUNNING→FAILED',
  'RUNNING→WAITING',
  'RUNNING→PENDING',
  'WAITING→COMPLETED',
  'WAITING→FAILED',
  'WAITING→SKIPPED',
  'WAITING→PENDING',
  'COMPLETED→PENDING',
  'FAILED→PENDING',
  'SKIPPED→PENDING',
]);

function pairs<S extends string>(values: readonly S[]): [S, S][] {
  return values.flatMap((from) => values.map((to): [S, S] => [from, to]));
}

function reachableFrom<S extends string>(machine: Readonly<Record<S, readonly S[]>>, start: S): Set<S> {
  const seen = new Set<S>([start]);
  const queue = [start];
  for (let s = queue.shift(); s !== undefined; s = queue.shift()) {
    for (const next of machine[s]) {
      if (!seen.has(next)) {
        seen.add(next);
        queue.push(next);
      }
    }
  }
  return seen;
}

describe('job state machine', () => {
  it.each(pairs(JOB_STATUSES))('%s → %s is allowed only if listed', (from, to) => {
    expect(canTransitionJob(from, to)).toBe(JOB_MOVES.has(`${from}→${to}`));
  });

  it('lists exactly the expected moves, and every status has an entry', () => {
    const listed = (Object.entries(JOB_TRANSITIONS) as [JobStatus, readonly JobStatus[]][]).flatMap(([from, tos]) =>
      tos.map((to) => `${from}→${to}`),
    );
    expect(listed.sort()).toEqual([...JOB_MOVES].sort());
    expect(Object.keys(JOB_TRANSITIONS).sort()).toEqual([...JOB_STATUSES].sort());
  });

  it('never moves a job to the status it is in', () => {
    for (const s of JOB_STATUSES) expect(canTransitionJob(s, s)).toBe(false);
  });

  it('treats COMPLETED, FAILED and CANCELLED as terminal, and nothing else', () => {
    expect([...TERMINAL_JOB_STATUSES].sort()).toEqual(['CANCELLED', 'COMPLETED', 'FAILED']);
    for (const s of JOB_STATUSES) expect(isTerminalJobStatus(s)).toBe(['COMPLETED', 'FAILED', 'CANCELLED'].includes(s));
  });

  it('leaves COMPLETED never, and FAILED or CANCELLED only by a manual retry to QUEUED', () => {
    expect(JOB_TRANSITIONS.COMPLETED).toEqual([]);
    expect(JOB_TRANSITIONS.FAILED).toEqual(['QUEUED']);
    expect(JOB_TRANSITIONS.CANCELLED).toEqual(['QUEUED']);
  });

  it('never returns a job to PENDING', () => {
    expect(jobStatusesLeadingTo('PENDING')).toEqual([]);
  });

  it('reaches every status from PENDING, and a terminal status from every status', () => {
    expect([...reachableFrom(JOB_TRANSITIONS, 'PENDING')].sort()).toEqual([...JOB_STATUSES].sort());
    for (const s of JOB_STATUSES) {
      const reach = reachableFrom(JOB_TRANSITIONS, s);
      expect(TERMINAL_JOB_STATUSES.some((t) => reach.has(t))).toBe(true);
    }
  });

  it.each<[JobStatus, JobStatus[]]>([
    ['PENDING', []],
    ['QUEUED', ['CANCELLED', 'FAILED', 'PENDING', 'RUNNING', 'WAITING']],
    ['RUNNING', ['QUEUED']],
    ['WAITING', ['RUNNING']],
    ['COMPLETED', ['RUNNING']],
    ['FAILED', ['QUEUED', 'RUNNING', 'WAITING']],
    ['CANCELLED', ['PENDING', 'QUEUED', 'RUNNING', 'WAITING']],
  ])('jobStatusesLeadingTo(%s) is %j', (to, from) => {
    expect(jobStatusesLeadingTo(to).sort()).toEqual(from);
  });

  it('ends an attempt with an event for each terminal status', () => {
    const statuses = TERMINAL_EVENT_TYPES.map((t) => t.replace(/^job\./, '').toUpperCase());
    expect(statuses.sort()).toEqual([...TERMINAL_JOB_STATUSES].sort());
  });
});

describe('step state machine', () => {
  it.each(pairs(STEP_STATUSES))('%s → %s is allowed only if listed', (from, to) => {
    expect(canTransitionStep(from, to)).toBe(STEP_MOVES.has(`${from}→${to}`));
  });

  it('lists exactly the expected moves, and every status has an entry', () => {
    const listed = (Object.entries(STEP_TRANSITIONS) as [StepStatus, readonly StepStatus[]][]).flatMap(
      ([from, tos]) => tos.map((to) => `${from}→${to}`),
    );
    expect(listed.sort()).toEqual([...STEP_MOVES].sort());
    expect(Object.keys(STEP_TRANSITIONS).sort()).toEqual([...STEP_STATUSES].sort());
  });

  it('moves a finished step only back to PENDING, for a new attempt', () => {
    expect([...FINISHED_STEP_STATUSES].sort()).toEqual(['COMPLETED', 'FAILED', 'SKIPPED']);
    for (const s of FINISHED_STEP_STATUSES) expect(STEP_TRANSITIONS[s]).toEqual(['PENDING']);
  });

  it('skips a step only before it runs or while it waits for a decision', () => {
    const toSkipped = STEP_STATUSES.filter((s) => canTransitionStep(s, 'SKIPPED'));
    expect(toSkipped.sort()).toEqual(['PENDING', 'WAITING']);
  });

  it('never moves a step to the status it is in', () => {
    for (const s of STEP_STATUSES) expect(canTransitionStep(s, s)).toBe(false);
  });
});
