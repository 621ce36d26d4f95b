/**
 * What the API reads from requests beyond job specs: path parameters, query strings and the small
 * bodies of cancels, decisions and batches. Query values arrive as text and are read into their
 * types here; a path parameter that does not parse answers 404 (see `app.ts`).
 */
import { z } from 'zod';
import { Instant, JOB_STATUSES, JobSpec, JobStatus, Limits, Priority, storableString } from '@gantry/contracts';

/** Instants PostgreSQL's timestamptz takes (years 0001–9999, offsets up to ±15:59). */
const isoTime = Instant;
const uuid = z.uuid();

/** An integer carried in a query string. */
function queryInt(min: number, max: number) {
  return z
    .string()
    .regex(/^-?\d+$/, 'must be a whole number')
    .transform(Number)
    .pipe(z.int().min(min).max(max));
}

/** A list in a query string: repeated (`?s=a&s=b`), comma-separated (`?s=a,b`), or both. */
function queryList<T extends z.ZodType<unknown, string>>(item: T) {
  return z
    .union([z.string(), z.array(z.string())])
    .transform((v) => (Array.isArray(v) ? v : [v]).flatMap((s) => s.split(',')).filter((s) => s !== ''))
    .pipe(z.array(item).min(1).max(JOB_STATUSES.length * 4));
}

// ---------------------------------------------------------------------------------------------
// Path parameters

/** `:id` of a job. A malformed id answers 404, like an id of another workspace. */
export const JobParams = z.strictObject({ id: uuid });
/** `:id/steps/:stepId`. */
export const StepParams = z.strictObject({ id: uuid, stepId: uuid });

// ---------------------------------------------------------------------------------------------
// Queries and request bodies

/** The orders a job list can take: newest or oldest first, or by priority. */
export const JOB_SORTS = ['-createdAt', 'createdAt', '-priority', 'priority'] as const;
export type JobSort = (typeof JOB_SORTS)[number];

const filterFields = {
  type: storableString(Limits.maxNameLength).min(1).optional().describe('Jobs of this type.'),
  agentTaskId: storableString(Limits.maxNameLength).min(1).optional().describe('Jobs of this agent task.'),
  createdAfter: isoTime.optional().describe('Jobs created after this instant (exclusive, to the millisecond).'),
  createdBefore: isoTime.optional().describe('Jobs created before this instant (exclusive).'),
};

/** `GET /runner-jobs`. */
export const ListJobsQuery = z
  .strictObject({
    ...filterFields,
    status: queryList(z.enum(JOB_STATUSES)).optional().describe('Jobs in any of these statuses (comma-separated or repeated).'),
    priorityMin: queryInt(Priority.min, Priority.max).optional().describe('Jobs of at least this priority.'),
    priorityMax: queryInt(Priority.min, Priority.max).optional().describe('Jobs of at most this priority.'),
    sort: z.enum(JOB_SORTS).default('-createdAt').describe('Order: `-createdAt` (newest first), `createdAt`, `-priority` (highest first), `priority`.'),
    limit: queryInt(1, Limits.maxPageSize).default(Limits.defaultPageSize).describe(`Jobs per page, at most ${Limits.maxPageSize}.`),
    cursor: z.string().min(1).max(512).optional().describe('`nextCursor` of the previous page.'),
  })
  .meta({ id: 'ListJobsQuery' });
export type ListJobsQuery = z.infer<typeof ListJobsQuery>;

/** The statuses a cancel can act on. */
export const CANCELLABLE_STATUSES = [JobStatus.PENDING, JobStatus.QUEUED, JobStatus.WAITING, JobStatus.RUNNING] as const;

/** `POST /runner-jobs/cancel`: which jobs to cancel. At least one criterion is required. */
export const BulkCancelBody = z
  .strictObject({
    ...filterFields,
    status: z.array(z.enum(CANCELLABLE_STATUSES)).min(1).optional().describe('Only jobs in these statuses; default every active status.'),
    priorityMin: z.int().min(Priority.min).max(Priority.max).optional(),
    priorityMax: z.int().min(Priority.min).max(Priority.max).optional(),
    reason: storableString(Limits.maxReasonLength).optional(),
  })
  .refine((b) => Object.keys(b).some((k) => k !== 'reason'), {
    message: 'name at least one criterion (status, type, agentTaskId, priorityMin, priorityMax, createdAfter, createdBefore)',
  })
  .meta({ id: 'BulkCancelRequest' });
export type BulkCancelBody = z.infer<typeof BulkCancelBody>;

/** A job filter: what the list and the bulk cancel share. */
export interface JobFilter {
  readonly status?: readonly string[];
  readonly type?: string;
  readonly agentTaskId?: string;
  readonly priorityMin?: number;
  readonly priorityMax?: number;
  readonly createdAfter?: string;
  readonly createdBefore?: string;
}

/** `GET /runner-jobs/:id/events`. */
export const EventsQuery = z
  .strictObject({
    after: queryInt(0, 2 ** 31 - 1).default(0).describe('Events with a greater sequence.'),
    limit: queryInt(1, Limits.maxPageSize).default(Limits.defaultPageSize),
  })
  .meta({ id: 'EventsQuery' });

/** `GET /runner-jobs/:id/events/stream`: where to start when no `Last-Event-ID` is sent. */
export const StreamQuery = z
  .strictObject({ after: queryInt(0, 2 ** 31 - 1).optional().describe('Start after this sequence (`Last-Event-ID` wins).') })
  .meta({ id: 'StreamQuery' });

/** `POST /runner-jobs/batch`. */
export const BatchRequest = z
  .strictObject({
    jobs: z
      .array(JobSpec)
      .min(1)
      .max(Limits.maxBatchJobs, `a batch holds at most ${Limits.maxBatchJobs} jobs (maxBatchJobs)`),
  })
  .meta({ id: 'BatchRequest' });

/** `POST /runner-jobs/:id/cancel`. */
export const CancelRequest = z
  .strictObject({ reason: storableString(Limits.maxReasonLength).optional() })
  .meta({ id: 'CancelRequest' });

/** `POST /runner-jobs/:id/retry`: no fields; a body, if any, is an empty object. */
export const RetryRequest = z.strictObject({}).meta({ id: 'RetryRequest' });

/** `POST /runner-jobs/:id/steps/:stepId/approve|reject`. */
export const DecisionRequest = z
  .strictObject({ comment: storableString(Limits.maxReasonLength).optional() })
  .meta({ id: 'DecisionRequest' });

/** `:id/artifacts/:name`. */
export const ArtifactParams = z.strictObject({ id: uuid, name: z.string().min(1).max(Limits.maxNameLength).regex(/^[A-Za-z0-9._-]+$/) });
