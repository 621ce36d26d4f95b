/**
 * `POST /runner-jobs/:id/cancel` and `POST /runner-jobs/cancel` (bulk, by filter). See
 * `jobs/cancel.ts` for what a cancel does to each status.
 */
import { defineRoute, type RouteContext } from '../http/route.js';
import { cancelJob, cancelMatching, type Canceller } from '../jobs/cancel.js';
import { getJobView } from '../jobs/read.js';
import { BulkCancelBody, BulkCancelResult, CancelRequest, JobParams, JobView } from '../schemas.js';

function canceller(ctx: RouteContext<unknown, unknown, unknown>, reason: string | undefined): Canceller {
  return {
    workspaceId: ctx.principal.workspaceId,
    actor: `api:${ctx.principal.tokenId}`,
    requestId: String(ctx.req.id),
    reason: reason ?? null,
  };
}

export const cancelJobRoute = defineRoute({
  method: 'POST',
  url: '/runner-jobs/:id/cancel',
  summary: 'Cancel a job',
  description:
    'A PENDING, QUEUED or WAITING job ends CANCELLED at once (200). A RUNNING job answers 202: its worker is told to abort the attempt, run CLEANUP and end it CANCELLED. A finished job answers 409.',
  scope: 'jobs:write',
  params: JobParams,
  body: CancelRequest,
  bodyOptional: true,
  responses: {
    200: { description: 'Cancelled: the job as it is now.', schema: JobView },
    202: { description: 'Running: the cancel was delivered to its worker.', schema: JobView },
  },
  errors: [409, 503],
  async handler(ctx) {
    const who = canceller(ctx, ctx.body.reason);
    const outcome = await cancelJob(ctx.deps, ctx.params.id, who);
    const job = await getJobView(ctx.deps.pool, who.workspaceId, ctx.params.id);
    return { status: outcome === 'cancelled' ? 200 : 202, body: job };
  },
});

export const bulkCancelRoute = defineRoute({
  method: 'POST',
  url: '/runner-jobs/cancel',
  summary: 'Cancel the jobs a filter selects',
  description:
    'Cancels every active job of the workspace matching all given criteria (at least one), as a single cancel would, and answers how many. `cancelRequested` counts RUNNING jobs whose worker has been asked to stop.',
  scope: 'jobs:admin',
  body: BulkCancelBody,
  responses: { 200: { description: 'What was cancelled.', schema: BulkCancelResult } },
  async handler(ctx) {
    const { reason, ...filter } = ctx.body;
    return { status: 200, body: await cancelMatching(ctx.deps, filter, canceller(ctx, reason)) };
  },
});
