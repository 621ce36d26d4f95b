/**
 * The pieces of the JobWrites a worker makes, one builder per move of docs/protocol.md. Pure:
 * no I/O, no clock except the `nowMs` passed in. The job hold (`job-hold.ts`) assembles them
 * into writes, several pieces per write, so that a job of quick steps costs two writes: the
 * claim (which also loads the job), then every step's events with the terminal move.
 *
 * Every event names its attempt explicitly: a write that starts a new attempt (retry,
 * hand-back) still records the finishing step's events under the attempt that ran them.
 */
import { type JobError, JobStatus, StepStatus } from '@gantry/contracts';
import type { EventInput, JobPatch, LoadedJob, LoadedStep, StepPatch } from '@gantry/store';
import type { Json, StepRecord } from '../steps/types.js';

/** Who writes: the worker's actor name and the attempt it holds. */
export interface Holder {
  readonly actor: string;
  readonly attempt: number;
}

/** Events and step changes to add to a write. */
export interface Parts {
  readonly events: EventInput[];
  readonly steps: StepPatch[];
}

/** A move of the job in the state machine, with what it sets and records. */
export interface Move {
  readonly expect: readonly JobStatus[];
  readonly to: JobStatus;
  readonly set: JobPatch;
  readonly events: EventInput[];
  readonly steps?: StepPatch[];
}

type StepRef = Pick<LoadedStep, 'id' | 'name' | 'phase' | 'type'>;

/** Row 5: a step starts; its previous results are cleared. */
export function stepStarted(h: Holder, step: StepRef): Parts {
  return {
    events: [{ type: 'step.started', actor: h.actor, attempt: h.attempt, stepId: step.id, payload: { name: step.name, phase: step.phase, type: step.type } }],
    steps: [{
      stepId: step.id, status: StepStatus.RUNNING, attempt: h.attempt, startedAt: 'now', completedAt: null,
      durationMs: null, error: null, exitCode: null, outputTail: null, output: null, inputTokens: 0, outputTokens: 0,
    }],
  };
}

function recorded(record: StepRecord): Partial<StepPatch> {
  const out: Partial<StepPatch> = {};
  if (record.exitCode !== undefined) out.exitCode = record.exitCode;
  if (record.outputTail !== undefined) out.outputTail = record.outputTail;
  if (record.inputTokens !== undefined) out.inputTokens = record.inputTokens;
  if (record.outputTokens !== undefined) out.outputTokens = record.outputTokens;
  return out;
}

/** Row 5: a step completed. */
export function stepCompleted(h: Holder, step: StepRef, durationMs: number, record: StepRecord, output: Json | undefined): Parts {
  const exitCode = record.exitCode ?? undefined;
  return {
    events: [{
      type: 'step.completed', actor: h.actor, attempt: h.attempt, stepId: step.id,
      payload: { durationMs, ...(exitCode === undefined ? {} : { exitCode }), ...(output === undefined ? {} : { output }) },
    }],
    steps: [{ stepId: step.id, status: StepStatus.COMPLETED, completedAt: 'now', durationMs, ...recorded(record), ...(output === undefined ? {} : { output }) }],
  };
}

/** Row 5: a step failed (or was interrupted by a cancel or a timeout). */
export function stepFailed(h: Holder, step: StepRef, durationMs: number, record: StepRecord, error: JobError): Parts {
  const exitCode = record.exitCode ?? undefined;
  return {
    events: [{
      type: 'step.failed', actor: h.actor, attempt: h.attempt, stepId: step.id,
      payload: { durationMs, error, ...(exitCode === undefined ? {} : { exitCode }) },
    }],
    steps: [{ stepId: step.id, status: StepStatus.FAILED, completedAt: 'now', durationMs, error, ...recorded(record) }],
  };
}

/** Row 5: a step will not run in this attempt. */
export function stepSkipped(h: Holder, step: StepRef, reason: string): Parts {
  return {
    events: [{ type: 'step.skipped', actor: h.actor, attempt: h.attempt, stepId: step.id, payload: { reason } }],
    steps: [{ stepId: step.id, status: StepStatus.SKIPPED, attempt: h.attempt }],
  };
}

/** Row 4: QUEUED → RUNNING, guarded by the dispatched attempt; the deadline is the job's own timeout from now. */
export function claim(h: Holder, workerId: string): Move {
  return {
    expect: [JobStatus.QUEUED],
    to: JobStatus.RUNNING,
    set: { workerId, startedAt: 'now', deadlineAt: 'timeout' },
    events: [{ type: 'job.started', actor: h.actor, attempt: h.attempt, payload: { attempt: h.attempt, workerId: workerId } }],
  };
}

/** Row 6: RUNNING → COMPLETED. */
export function complete(h: Holder, durationMs: number, result: Json | null): Move {
  return {
    expect: [JobStatus.RUNNING],
    to: JobStatus.COMPLETED,
    set: { progress: 100, result, completedAt: 'now', workerId: null },
    events: [{ type: 'job.completed', actor: h.actor, attempt: h.attempt, payload: { durationMs, result } }],
  };
}

/** Rows 7 and 12: RUNNING → QUEUED for another attempt after `delayMs`; every step back to PENDING. */
export function retry(h: Holder, job: Pick<LoadedJob, 'failures' | 'steps'>, error: JobError, delayMs: number, nowMs: number): Move {
  const next = h.attempt + 1;
  const runAt = new Date(nowMs + delayMs);
  return {
    expect: [JobStatus.RUNNING],
    to: JobStatus.QUEUED,
    set: { attempt: next, failures: job.failures + 1, error, runAt, dispatchedAt: null, workerId: null, queuedAt: 'now' },
    steps: job.steps.map((s) => ({ stepId: s.id, status: StepStatus.PENDING })),
    events: [{ type: 'job.queued', actor: h.actor, attempt: next, payload: { attempt: next, reason: 'retry', runAt: runAt.toISOString(), error } }],
  };
}

/** Rows 8 and 12: RUNNING → FAILED. */
export function fail(h: Holder, job: Pick<LoadedJob, 'failures'>, error: JobError): Move {
  const failures = job.failures + 1;
  return {
    expect: [JobStatus.RUNNING],
    to: JobStatus.FAILED,
    set: { failures, error, completedAt: 'now', workerId: null },
    events: [{ type: 'job.failed', actor: h.actor, attempt: h.attempt, payload: { error, attempts: failures } }],
  };
}

/** Row 9: RUNNING → CANCELLED, after CLEANUP ran. */
export function cancel(h: Holder, reason: string | null): Move {
  return {
    expect: [JobStatus.RUNNING],
    to: JobStatus.CANCELLED,
    set: { completedAt: 'now', workerId: null },
    events: [{ type: 'job.cancelled', actor: h.actor, attempt: h.attempt, payload: { reason, from: JobStatus.RUNNING } }],
  };
}

/**
 * Row 14: RUNNING → QUEUED on drain; completed steps stay COMPLETED, the interrupted one is
 * PENDING again. Queued anew, as every return to QUEUED is: its queue wait and its aging count
 * from now, not from before it ran (a job that ran 20 minutes would otherwise come back at the
 * highest effective priority, and a 20-minute queue wait).
 */
export function handBack(h: Holder, interruptedStepId: string | undefined): Move {
  const next = h.attempt + 1;
  return {
    expect: [JobStatus.RUNNING],
    to: JobStatus.QUEUED,
    set: { attempt: next, dispatchedAt: null, workerId: null, queuedAt: 'now' },
    steps: interruptedStepId === undefined ? [] : [{ stepId: interruptedStepId, status: StepStatus.PENDING }],
    events: [{ type: 'job.queued', actor: h.actor, attempt: next, payload: { attempt: next, reason: 'handed_back', runAt: null } }],
  };
}

/** Row 15: RUNNING → WAITING on an approval gate, which waits; the slot is freed. */
export function park(h: Holder, stepId: string, prompt: string | undefined, timeoutMs: number | undefined, nowMs: number): Move {
  return {
    expect: [JobStatus.RUNNING],
    to: JobStatus.WAITING,
    set: { workerId: null, deadlineAt: timeoutMs === undefined ? null : new Date(nowMs + timeoutMs) },
    steps: [{ stepId, status: StepStatus.WAITING }],
    events: [{ type: 'job.waiting', actor: h.actor, attempt: h.attempt, stepId, payload: { stepId, ...(prompt === undefined ? {} : { prompt }) } }],
  };
}

/** Row 5: progress of the job, and its event when one is due. */
export function progressed(h: Holder, progress: number, completedSteps: number, totalSteps: number, withEvent: boolean): { set: JobPatch; events: EventInput[] } {
  return {
    set: { progress },
    events: withEvent ? [{ type: 'job.progress', actor: h.actor, attempt: h.attempt, payload: { progress, completedSteps, totalSteps } }] : [],
  };
}
