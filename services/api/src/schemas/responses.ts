/**
 * The documents the API answers with. The routes build them from rows (`jobs/views.ts`); the
 * integration tests parse real answers with these schemas and `/openapi.json` documents them.
 */
import { z } from 'zod';
import { ERROR_CODES, JOB_STATUSES, JobError, JobEvent, STEP_PHASES, STEP_STATUSES } from '@gantry/contracts';

const isoTime = z.iso.datetime({ offset: true });
const uuid = z.uuid();

/** One step of a job, as the API shows it. */
export const StepView = z
  .strictObject({
    id: uuid,
    ordinal: z.int().min(0),
    name: z.string(),
    phase: z.enum(STEP_PHASES),
    type: z.string(),
    status: z.enum(STEP_STATUSES),
    spec: z.record(z.string(), z.json()),
    timeoutMs: z.int().nullable(),
    attempt: z.int().min(0),
    output: z.json().nullable(),
    outputTail: z.string().nullable().describe('The last bytes of a command’s output.'),
    exitCode: z.int().nullable(),
    error: JobError.nullable(),
    inputTokens: z.int().min(0),
    outputTokens: z.int().min(0),
    durationMs: z.int().nullable(),
    startedAt: isoTime.nullable(),
    completedAt: isoTime.nullable(),
  })
  .meta({ id: 'Step' });
export type StepView = z.infer<typeof StepView>;

const jobFields = {
  id: uuid,
  workspaceId: uuid,
  agentTaskId: z.string().nullable(),
  type: z.string(),
  pool: z.string(),
  status: z.enum(JOB_STATUSES),
  priority: z.int(),
  progress: z.int().min(0).max(100),
  error: JobError.nullable(),
  attempt: z.int().min(0).describe('Grows by one every time the job is (re)queued.'),
  failures: z.int().min(0).describe('Attempts that failed; maxAttempts bounds it.'),
  maxAttempts: z.int().min(1),
  backoff: z.strictObject({
    kind: z.enum(['exponential', 'fixed']),
    initialMs: z.int(),
    maxMs: z.int(),
    jitter: z.number(),
  }),
  idempotencyKey: z.string().nullable(),
  runAt: isoTime.nullable(),
  timeoutMs: z.int(),
  workerId: z.string().nullable(),
  cancelRequestedAt: isoTime.nullable(),
  deadlineAt: isoTime.nullable(),
  createdAt: isoTime,
  updatedAt: isoTime,
  queuedAt: isoTime.nullable(),
  startedAt: isoTime.nullable(),
  completedAt: isoTime.nullable(),
};

/** A job in a list: everything but its payload and result (GET the job for those). */
export const JobSummary = z.strictObject(jobFields).meta({ id: 'JobSummary' });
export type JobSummary = z.infer<typeof JobSummary>;

/** A job with its payload, result and steps. */
export const JobView = z
  .strictObject({
    ...jobFields,
    payload: z.record(z.string(), z.json()),
    result: z.json().nullable(),
    steps: z.array(StepView),
  })
  .meta({ id: 'Job' });
export type JobView = z.infer<typeof JobView>;

/** A page of a job's events. */
export const EventPage = z
  .strictObject({
    items: z.array(JobEvent),
    nextAfter: z.int().nullable().describe('Pass as `after` for the next page; null when this is the last.'),
  })
  .meta({ id: 'EventPage' });
export type EventPage = { items: JobEvent[]; nextAfter: number | null };

/** A job with its steps and its first page of events. */
export const JobDetail = z
  .strictObject({ ...JobView.shape, events: EventPage })
  .meta({ id: 'JobDetail' });

/** A page of jobs. */
export const JobPage = z
  .strictObject({
    items: z.array(JobSummary),
    nextCursor: z.string().nullable().describe('Pass as `cursor` for the next page; null when this is the last.'),
  })
  .meta({ id: 'JobPage' });

/** A job's steps in run order. */
export const StepList = z.strictObject({ items: z.array(StepView) }).meta({ id: 'StepList' });

/** What `POST /runner-jobs/batch` answers: one entry per submitted job, in order. */
export const BatchResult = z
  .strictObject({
    jobs: z.array(
      z.strictObject({
        id: uuid,
        status: z.enum(JOB_STATUSES),
        created: z.boolean().describe('False when an existing job with the same idempotency key answers.'),
      }),
    ),
  })
  .meta({ id: 'BatchResult' });

/** A command accepted for the scheduler (retry, approve, reject). */
export const CommandAccepted = z
  .strictObject({
    jobId: uuid,
    commandId: uuid,
    kind: z.enum(['retry', 'approve']),
    decision: z.enum(['approve', 'reject']).optional(),
  })
  .meta({ id: 'CommandAccepted' });

/** What a bulk cancel did. */
export const BulkCancelResult = z
  .strictObject({
    matched: z.int().min(0).describe('Active jobs the filter selected.'),
    cancelled: z.int().min(0).describe('Jobs that ended CANCELLED at once (PENDING, QUEUED, WAITING).'),
    cancelRequested: z.int().min(0).describe('RUNNING jobs whose worker was asked to stop.'),
  })
  .meta({ id: 'BulkCancelResult' });

/** The workspace's backlog. */
export const QueueView = z
  .strictObject({
    depth: z.int().min(0).describe('Jobs waiting to run now (accepted or queued, not delayed).'),
    delayed: z.int().min(0).describe('Jobs waiting for their run-at or retry backoff.'),
    running: z.int().min(0),
    waiting: z.int().min(0).describe('Jobs parked on an approval gate.'),
    oldestWaitSeconds: z.number().nullable(),
    priorities: z.array(
      z.strictObject({
        priority: z.int(),
        depth: z.int().min(0),
        delayed: z.int().min(0),
        oldestWaitSeconds: z.number().nullable(),
      }),
    ),
  })
  .meta({ id: 'Queue' });

/** Workers heard from within the liveness window. */
export const WorkersView = z
  .strictObject({
    workers: z.array(
      z.strictObject({
        workerId: z.string(),
        pool: z.string(),
        slots: z.int().min(0),
        busy: z.int().min(0),
        draining: z.boolean(),
        version: z.string(),
        startedAt: isoTime,
        lastSeenAt: isoTime,
      }),
    ),
    pools: z.array(
      z.strictObject({ pool: z.string(), workers: z.int().min(0), slots: z.int().min(0), busy: z.int().min(0) }),
    ),
  })
  .meta({ id: 'Workers' });

/** An RFC 9457 problem document; `code` is from the error catalog. */
export const ProblemView = z
  .strictObject({
    type: z.string(),
    title: z.string(),
    status: z.int(),
    detail: z.string(),
    code: z.enum(ERROR_CODES as [string, ...string[]]),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    errors: z.array(z.strictObject({ path: z.string(), message: z.string() })).optional(),
  })
  .meta({ id: 'Problem' });

/** One artifact of a job (the newest of that name). */
export const ArtifactView = z
  .strictObject({
    name: z.string(),
    size: z.int(),
    sha256: z.string(),
    contentType: z.string(),
    stepId: z.uuid().nullable(),
    attempt: z.int(),
    createdAt: z.iso.datetime({ offset: true }),
  })
  .meta({ id: 'ArtifactView' });

export const ArtifactList = z.strictObject({ items: z.array(ArtifactView) }).meta({ id: 'ArtifactList' });
