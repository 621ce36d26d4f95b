/**
 * `POST /runner-jobs` and `POST /runner-jobs/batch`: accept jobs (see `jobs/accept.ts`).
 * A single job may carry its idempotency key in the `Idempotency-Key` header or the
 * `idempotencyKey` field (both must agree); a batch carries one per job.
 */
import { z } from 'zod';
import { GantryError, JobSpec, Limits, type FieldIssue } from '@gantry/contracts';
import { defineRoute, type RouteContext } from '../http/route.js';
import { acceptBatch, prepareJobs, type Submitter } from '../jobs/accept.js';
import { BatchRequest, BatchResult, JobView } from '../schemas.js';

/** The request header carrying a single job's idempotency key. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set on an answer given by an existing job with the same idempotency key. */
export const REPLAYED_HEADER = 'idempotent-replayed';

const IdempotencyKey = z.string().min(1).max(Limits.maxNameLength);

function submitter(ctx: RouteContext<unknown, unknown, unknown>): Submitter {
  return { workspaceId: ctx.principal.workspaceId, actor: `api:${ctx.principal.tokenId}`, requestId: String(ctx.req.id) };
}

function invalid(path: string, message: string): GantryError {
  return new GantryError('VALIDATION_FAILED', `${path}: ${message}`, { issues: [{ path, message }] });
}

/** The spec with the header's idempotency key merged in. */
function withHeaderKey(spec: JobSpec, header: string | string[] | undefined): JobSpec {
  if (header === undefined) return spec;
  const parsed = IdempotencyKey.safeParse(Array.isArray(header) ? header.join(',') : header);
  if (!parsed.success) {
    const code = parsed.error.issues.some((i) => i.code === 'too_big') ? 'LIMIT_EXCEEDED' : 'VALIDATION_FAILED';
    const message = `must be 1 to ${Limits.maxNameLength} characters (maxNameLength)`;
    throw new GantryError(code, `Idempotency-Key header ${message}`, { issues: [{ path: 'Idempotency-Key', message }] });
  }
  if (spec.idempotencyKey !== undefined && spec.idempotencyKey !== parsed.data) {
    throw invalid('idempotencyKey', 'differs from the Idempotency-Key header');
  }
  return { ...spec, idempotencyKey: parsed.data };
}

export const submitJob = defineRoute({
  method: 'POST',
  url: '/runner-jobs',
  summary: 'Submit a job',
  description:
    'Stores the job PENDING with its steps and first event, then hands it to the scheduler. Answers 202 with the job and its Location. A repeated idempotency key answers the original job (header `Idempotent-Replayed: true`) and creates nothing.',
  scope: 'jobs:write',
  body: JobSpec,
  headers: [{ name: 'Idempotency-Key', description: 'The job’s idempotency key (or the `idempotencyKey` field).' }],
  responses: { 202: { description: 'Accepted: the job as stored.', schema: JobView, headers: { Location: 'The job’s URL.' } } },
  errors: [409, 413, 415],
  async handler(ctx) {
    const spec = withHeaderKey(ctx.body, ctx.req.headers[IDEMPOTENCY_KEY_HEADER]);
    const [prepared] = prepareJobs(submitter(ctx), [spec], () => '');
    const job = await ctx.deps.submits.submit(prepared!);
    return {
      status: 202,
      body: job.view,
      headers: { location: `/runner-jobs/${job.id}`, ...(job.created ? {} : { [REPLAYED_HEADER]: 'true' }) },
    };
  },
});

export const submitBatch = defineRoute({
  method: 'POST',
  url: '/runner-jobs/batch',
  summary: 'Submit up to 1,000 jobs',
  description:
    'Validates every job first (any invalid job refuses the whole batch, naming it as `jobs.<i>`), stores them in one transaction, and answers 202 with one entry per job in order. Idempotency keys go on each job; a key may appear once per batch.',
  scope: 'jobs:write',
  body: BatchRequest,
  responses: { 202: { description: 'Accepted.', schema: BatchResult } },
  errors: [409, 413, 415],
  async handler(ctx) {
    if (ctx.req.headers[IDEMPOTENCY_KEY_HEADER] !== undefined) {
      throw invalid('Idempotency-Key', 'a batch takes an idempotencyKey on each job, not the header');
    }
    const seen = new Map<string, number>();
    const repeats: FieldIssue[] = [];
    ctx.body.jobs.forEach((job, i) => {
      if (job.idempotencyKey === undefined) return;
      const first = seen.get(job.idempotencyKey);
      if (first === undefined) seen.set(job.idempotencyKey, i);
      else repeats.push({ path: `jobs.${i}.idempotencyKey`, message: `repeats the key of jobs.${first}` });
    });
    if (repeats.length > 0) {
      throw new GantryError('VALIDATION_FAILED', `${repeats[0]!.path}: ${repeats[0]!.message}`, { issues: repeats });
    }
    const accepted = await acceptBatch(ctx.deps, prepareJobs(submitter(ctx), ctx.body.jobs, (i) => `jobs.${i}`));
    return { status: 202, body: { jobs: accepted } };
  },
});
