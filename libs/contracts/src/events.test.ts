import { describe, expect, it } from 'vitest';
import {
  CURRENT_EVENT_VERSION,
  EVENT_PAYLOADS,
  EVENT_TYPES,
  EventBatch,
  type EventPayload,
  type EventType,
  JobEvent,
  TERMINAL_EVENT_TYPES,
} from './events.js';
import { Limits } from './limits.js';

const WS = '8f14e45f-ceea-467f-a0e6-0d6f5d5c0a11';
const JOB = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1a';
const STEP = '0193b8f2-7c1e-7a4d-9b3a-6e5f4d3c2b1b';
const EVENT = '0193b8f4-0000-7000-8000-000000000009';

const jobError = { code: 'STEP_FAILED', message: 'make exited with 2', stepId: STEP, retryable: true };

/** A valid payload of every event type; `satisfies` keeps the table complete. */
const PAYLOADS = {
  'job.created': {
    type: 'build',
    priority: 50,
    pool: 'default',
    stepCount: 3,
    maxAttempts: 3,
    timeoutMs: 3_600_000,
    runAt: null,
    idempotencyKey: 'ci-1',
    agentTaskId: null,
  },
  'job.queued': { attempt: 2, reason: 'retry', runAt: '2025-01-15T09:31:00Z', error: jobError },
  'job.started': { attempt: 1, workerId: 'worker-1' },
  'job.progress': { progress: 40, completedSteps: 2, totalSteps: 5 },
  'job.waiting': { stepId: STEP, prompt: 'ship it?' },
  'job.completed': { durationMs: 1234, result: { ok: true, files: ['a'] } },
  'job.failed': { error: jobError, attempts: 3 },
  'job.cancel_requested': { reason: null },
  'job.cancelled': { reason: 'superseded', from: 'RUNNING' },
  'step.started': { name: 'test', phase: 'EXECUTION', type: 'COMMAND' },
  'step.output': { stream: 'stderr', offset: 0, chunk: 'warning: x\n' },
  'step.completed': { durationMs: 10, exitCode: 0, output: 'done' },
  'step.failed': { durationMs: 10, error: jobError, exitCode: 2 },
  'step.skipped': { reason: 'an earlier step failed' },
  'gate.passed': { kind: 'approval', decidedBy: 'user:ana', comment: 'ok' },
  'gate.failed': { kind: 'command', reason: 'lint found 3 errors' },
  'ai.tokens_used': { provider: 'openai', model: 'gpt-x', inputTokens: 120, outputTokens: 30 },
  'artifact.created': {
    name: 'coverage',
    bucket: 'gantry-artifacts',
    key: `${WS}/${JOB}/coverage`,
    size: 2048,
    sha256: 'a'.repeat(64),
    contentType: 'application/gzip',
  },
  'command.dead_lettered': { command: 'submit', commandId: null, code: 'VALIDATION_FAILED', reason: 'job.steps: too small' },
} satisfies { [T in EventType]: EventPayload<T> };

function event<T extends EventType>(type: T, payload: unknown = PAYLOADS[type], envelope: Record<string, unknown> = {}) {
  return {
    v: CURRENT_EVENT_VERSION,
    id: EVENT,
    jobId: JOB,
    workspaceId: WS,
    stepId: type.startsWith('step.') ? STEP : null,
    sequence: 1,
    attempt: 1,
    actor: 'scheduler',
    at: '2025-01-15T09:30:00.000Z',
    type,
    payload,
    ...envelope,
  };
}

describe('JobEvent', () => {
  it('covers every event type in the payload table', () => {
    expect(Object.keys(PAYLOADS).sort()).toEqual([...EVENT_TYPES].sort());
    expect(EVENT_TYPES).toEqual(Object.keys(EVENT_PAYLOADS));
  });

  it.each(EVENT_TYPES)('parses a valid %s event', (type) => {
    const parsed = JobEvent.parse(event(type));
    expect(parsed.type).toBe(type);
    expect(parsed.payload).toEqual(PAYLOADS[type]);
  });

  it.each(EVENT_TYPES)('refuses a %s event with an unknown payload field', (type) => {
    const result = JobEvent.safeParse(event(type, { ...PAYLOADS[type], surprise: 1 }));
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.'))).toEqual(['payload']);
  });

  it.each(EVENT_TYPES)('refuses a %s event carrying another type’s payload', (type) => {
    const other = EVENT_TYPES[(EVENT_TYPES.indexOf(type) + 1) % EVENT_TYPES.length]!;
    expect(JobEvent.safeParse(event(type, PAYLOADS[other])).success).toBe(false);
  });

  it.each<[string, Record<string, unknown>]>([
    ['version 2', { v: 2 }],
    ['sequence 0', { sequence: 0 }],
    ['a fractional sequence', { sequence: 1.5 }],
    ['a negative attempt', { attempt: -1 }],
    ['a missing stepId', { stepId: undefined }],
    ['a job id that is not a UUID', { jobId: 'job-1' }],
    ['an empty actor', { actor: '' }],
    ['a time without offset', { at: '2025-01-15T09:30:00' }],
    ['an unknown type', { type: 'job.exploded' }],
    ['an unknown envelope field', { traceId: 'x' }],
  ])('refuses an envelope with %s', (_, change) => {
    const input = JSON.parse(JSON.stringify(event('job.started', undefined, change))) as unknown;
    expect(JobEvent.safeParse(input).success).toBe(false);
  });

  it('accepts attempt 0 for what happens before the first attempt', () => {
    expect(JobEvent.parse(event('job.created', undefined, { attempt: 0 })).attempt).toBe(0);
  });

  it.each<[EventType, Record<string, unknown>]>([
    ['job.progress', { progress: 101 }],
    ['job.queued', { reason: 'because' }],
    ['job.queued', { attempt: 0 }],
    ['job.cancelled', { from: 'PAUSED' }],
    ['job.waiting', { stepId: 'step-1' }],
    ['step.started', { phase: 'TEARDOWN' }],
    ['step.output', { stream: 'stdin' }],
    ['step.output', { chunk: 'x'.repeat(Limits.maxOutputChunkBytes + 1) }],
    ['step.output', { offset: -1 }],
    ['artifact.created', { sha256: 'A'.repeat(64) }],
    ['artifact.created', { sha256: 'a'.repeat(63) }],
    ['command.dead_lettered', { command: 'pause' }],
    ['ai.tokens_used', { inputTokens: -1 }],
    ['job.failed', { error: { code: '', message: 'x' } }],
  ])('refuses a %s payload with %j', (type, change) => {
    expect(JobEvent.safeParse(event(type, { ...PAYLOADS[type], ...change })).success).toBe(false);
  });

  it('keeps a null result and a JSON result of any shape on job.completed', () => {
    expect(JobEvent.parse(event('job.completed', { durationMs: 0, result: null })).payload).toEqual({ durationMs: 0, result: null });
    expect(JobEvent.parse(event('job.completed', { durationMs: 0, result: [1, 'a'] })).payload).toEqual({ durationMs: 0, result: [1, 'a'] });
  });

  it('lists the terminal event types among the event types', () => {
    expect([...TERMINAL_EVENT_TYPES]).toEqual(['job.completed', 'job.failed', 'job.cancelled']);
    for (const t of TERMINAL_EVENT_TYPES) expect(EVENT_TYPES).toContain(t);
  });
});

describe('EventBatch', () => {
  const batch = (events: unknown[]) => ({ v: 1, jobId: JOB, workspaceId: WS, events });

  it('parses one job’s events from one commit', () => {
    const parsed = EventBatch.parse(batch([event('job.started'), event('step.started', undefined, { sequence: 2 })]));
    expect(parsed.events.map((e) => [e.sequence, e.type])).toEqual([
      [1, 'job.started'],
      [2, 'step.started'],
    ]);
  });

  it('refuses an empty batch, an invalid event and an unknown field', () => {
    expect(EventBatch.safeParse(batch([])).success).toBe(false);
    expect(EventBatch.safeParse(batch([event('job.started', { attempt: 0, workerId: 'w' })])).success).toBe(false);
    expect(EventBatch.safeParse({ ...batch([event('job.started')]), extra: 1 }).success).toBe(false);
  });
});
