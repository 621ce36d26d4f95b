/**
 * Reading jobs: the filtered list, one job with its steps and first events, its steps, and its
 * events after a sequence. Every read is scoped by the caller's workspace, and runs under the
 * tenant role (`jobs/tenant.ts`) so row-level security fences it a second time.
 */
import { Limits } from '@gantry/contracts';
import { defineRoute } from '../http/route.js';
import { listJobs } from '../jobs/list.js';
import { tenantRead } from '../jobs/tenant.js';
import { eventsAfter, getJobRow, getJobView, stepsOf } from '../jobs/read.js';
import { stepView } from '../jobs/views.js';
import { EventPage, EventsQuery, JobDetail, JobPage, JobParams, ListJobsQuery, StepList } from '../schemas.js';

export const listJobsRoute = defineRoute({
  method: 'GET',
  url: '/runner-jobs',
  summary: 'List jobs',
  description:
    'The workspace’s jobs, filtered, one page at a time. Pages are keyset-paginated: follow `nextCursor` with the same filters and sort; jobs inserted meanwhile never shift a page. Items omit payload and result.',
  scope: 'jobs:read',
  query: ListJobsQuery,
  responses: { 200: { description: 'A page of jobs.', schema: JobPage } },
  async handler(ctx) {
    const { workspaceId } = ctx.principal;
    return { status: 200, body: await tenantRead(ctx.deps.pool, workspaceId, (db) => listJobs(db, workspaceId, ctx.query)) };
  },
});

export const getJobRoute = defineRoute({
  method: 'GET',
  url: '/runner-jobs/:id',
  summary: 'Get a job',
  description: `The job with its steps and its first ${Limits.defaultPageSize} events (follow \`events.nextAfter\` on …/events for more).`,
  scope: 'jobs:read',
  params: JobParams,
  responses: { 200: { description: 'The job.', schema: JobDetail } },
  async handler(ctx) {
    const body = await tenantRead(ctx.deps.pool, ctx.principal.workspaceId, async (db) => {
      const job = await getJobView(db, ctx.principal.workspaceId, ctx.params.id);
      return { ...job, events: await eventsAfter(db, job.id, 0, Limits.defaultPageSize) };
    });
    return { status: 200, body };
  },
});

export const getStepsRoute = defineRoute({
  method: 'GET',
  url: '/runner-jobs/:id/steps',
  summary: 'List a job’s steps',
  scope: 'jobs:read',
  params: JobParams,
  responses: { 200: { description: 'The steps in run order.', schema: StepList } },
  async handler(ctx) {
    const steps = await tenantRead(ctx.deps.pool, ctx.principal.workspaceId, async (db) => {
      const job = await getJobRow(db, ctx.principal.workspaceId, ctx.params.id);
      return (await stepsOf(db, [job.id])).get(job.id) ?? [];
    });
    return { status: 200, body: { items: steps.map(stepView) } };
  },
});

export const getEventsRoute = defineRoute({
  method: 'GET',
  url: '/runner-jobs/:id/events',
  summary: 'List a job’s events after a sequence',
  scope: 'jobs:read',
  params: JobParams,
  query: EventsQuery,
  responses: { 200: { description: 'A page of events in sequence order.', schema: EventPage } },
  async handler(ctx) {
    const body = await tenantRead(ctx.deps.pool, ctx.principal.workspaceId, async (db) => {
      const job = await getJobRow(db, ctx.principal.workspaceId, ctx.params.id);
      return eventsAfter(db, job.id, ctx.query.after, ctx.query.limit);
    });
    return { status: 200, body };
  },
});
