/**
 * JobEvents: the append-only record of everything that happened to a job. Each is stored in
 * `job_events` with a per-job sequence (1, 2, 3, … without gaps) and, after commit, published
 * on `<ns>.events.<workspaceId>.<jobId>` inside an {@link EventBatch}.
 */
import { z } from 'zod';
import { JOB_STATUSES, STEP_PHASES } from './enums.js';
import { JobError } from './jobs.js';
import { Limits } from './limits.js';
import { COMMAND_KINDS } from './names.js';

export const CURRENT_EVENT_VERSION = 1;

const ms = z.int().min(0);
const reason = z.string().max(Limits.maxReasonLength);
const isoTime = z.iso.datetime({ offset: true });

/** Why a job went (back) into the queue. */
export const QueueReason = z.enum([
  'submitted',
  'retry',
  'worker_lost',
  'handed_back',
  'manual_retry',
  'approved',
]);
export type QueueReason = z.infer<typeof QueueReason>;

/** The payload schema of each event type. */
export const EVENT_PAYLOADS = {
  'job.created': z.strictObject({
    type: z.string(),
    priority: z.int(),
    pool: z.string(),
    stepCount: z.int(),
    maxAttempts: z.int(),
    timeoutMs: ms,
    runAt: isoTime.nullable(),
    idempotencyKey: z.string().nullable(),
    agentTaskId: z.string().nullable(),
  }),
  'job.queued': z.strictObject({
    attempt: z.int().min(1),
    reason: QueueReason,
    runAt: isoTime.nullable(),
    error: JobError.optional().describe('The previous attempt’s error, when it failed.'),
  }),
  'job.started': z.strictObject({ attempt: z.int().min(1), workerId: z.string() }),
  'job.progress': z.strictObject({
    progress: z.int().min(0).max(100),
    completedSteps: z.int().min(0),
    totalSteps: z.int().min(0),
  }),
  'job.waiting': z.strictObject({ stepId: z.uuid(), prompt: z.string().optional() }),
  'job.completed': z.strictObject({ durationMs: ms, result: z.json().nullable() }),
  'job.failed': z.strictObject({ error: JobError, attempts: z.int().min(1) }),
  'job.cancel_requested': z.strictObject({ reason: reason.nullable() }),
  'job.cancelled': z.strictObject({ reason: reason.nullable(), from: z.enum(JOB_STATUSES) }),
  'step.started': z.strictObject({ name: z.string(), phase: z.enum(STEP_PHASES), type: z.string() }),
  'step.output': z.strictObject({
    stream: z.enum(['stdout', 'stderr']),
    offset: z.int().min(0).describe('Bytes of this stream emitted before this chunk.'),
    chunk: z.string().max(Limits.maxOutputChunkBytes),
  }),
  'step.completed': z.strictObject({
    durationMs: ms,
    exitCode: z.int().optional(),
    output: z.json().optional(),
  }),
  'step.failed': z.strictObject({ durationMs: ms, error: JobError, exitCode: z.int().optional() }),
  'step.skipped': z.strictObject({ reason }),
  'gate.passed': z.strictObject({
    kind: z.enum(['command', 'approval']),
    decidedBy: z.string().optional(),
    comment: reason.optional(),
  }),
  'gate.failed': z.strictObject({
    kind: z.enum(['command', 'approval']),
    decidedBy: z.string().optional(),
    comment: reason.optional(),
    reason: reason.optional(),
  }),
  'ai.tokens_used': z.strictObject({
    provider: z.string(),
    model: z.string(),
    inputTokens: z.int().min(0),
    outputTokens: z.int().min(0),
  }),
  'artifact.created': z.strictObject({
    name: z.string(),
    bucket: z.string(),
    key: z.string(),
    size: z.int().min(0),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    contentType: z.string(),
  }),
  'command.dead_lettered': z.strictObject({
    command: z.enum(COMMAND_KINDS),
    commandId: z.string().nullable(),
    code: z.string(),
    reason,
  }),
} as const;

export type EventType = keyof typeof EVENT_PAYLOADS;
export const EVENT_TYPES = Object.keys(EVENT_PAYLOADS) as EventType[];
export type EventPayload<T extends EventType> = z.infer<(typeof EVENT_PAYLOADS)[T]>;

/** Event types that end a job's current attempt for good (a manual retry may start another). */
export const TERMINAL_EVENT_TYPES = ['job.completed', 'job.failed', 'job.cancelled'] as const satisfies readonly EventType[];

const envelope = {
  v: z.literal(CURRENT_EVENT_VERSION),
  id: z.uuid(),
  jobId: z.uuid(),
  workspaceId: z.uuid(),
  stepId: z.uuid().nullable(),
  sequence: z.int().min(1).describe('Position in the job’s event log, gap-free from 1.'),
  attempt: z.int().min(0).describe('The job attempt the event belongs to (0 before the first).'),
  actor: z.string().min(1).max(Limits.maxNameLength).describe('Who caused it: api:<tokenId>, scheduler, worker:<id>, …'),
  at: isoTime,
};

function eventSchema<T extends EventType>(type: T) {
  return z.strictObject({ ...envelope, type: z.literal(type), payload: EVENT_PAYLOADS[type] });
}

/** One JobEvent, discriminated on `type`. */
export const JobEvent = z
  .discriminatedUnion(
    'type',
    EVENT_TYPES.map((t) => eventSchema(t)) as unknown as [
      ReturnType<typeof eventSchema<EventType>>,
      ...ReturnType<typeof eventSchema<EventType>>[],
    ],
  )
  .meta({ id: 'JobEvent', description: 'One entry of a job’s append-only event log.' });

/** A JobEvent of type `T` with its typed payload. */
export type JobEventOf<T extends EventType> = {
  v: typeof CURRENT_EVENT_VERSION;
  id: string;
  jobId: string;
  workspaceId: string;
  stepId: string | null;
  sequence: number;
  attempt: number;
  actor: string;
  at: string;
  type: T;
  payload: EventPayload<T>;
};
export type JobEvent = { [T in EventType]: JobEventOf<T> }[EventType];

/** What a writer supplies; the store assigns id, sequence and time. */
export type JobEventDraft = {
  [T in EventType]: {
    jobId: string;
    workspaceId: string;
    stepId?: string | null;
    attempt: number;
    actor: string;
    type: T;
    payload: EventPayload<T>;
  };
}[EventType];

/** The message on the events stream: one job's events from one commit, in sequence order. */
export const EventBatch = z
  .strictObject({
    v: z.literal(CURRENT_EVENT_VERSION),
    jobId: z.uuid(),
    workspaceId: z.uuid(),
    events: z.array(JobEvent).min(1),
  })
  .meta({ id: 'EventBatch', description: 'One job’s events from one database commit.' });
export type EventBatch = { v: 1; jobId: string; workspaceId: string; events: JobEvent[] };
