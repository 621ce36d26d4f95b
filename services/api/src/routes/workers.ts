/** `GET /workers`: the workers heard from within the liveness window, and slots per pool. */
import { defineRoute } from '../http/route.js';
import { WorkersView } from '../schemas.js';

export const workersRoute = defineRoute({
  method: 'GET',
  url: '/workers',
  summary: 'Live workers',
  description: 'Workers whose heartbeat arrived within the liveness window, with their slots; the jobs they run are not listed (they belong to many workspaces).',
  scope: 'jobs:read',
  responses: { 200: { description: 'Live workers and totals per pool.', schema: WorkersView } },
  async handler(ctx) {
    return { status: 200, body: ctx.deps.heartbeats.snapshot() };
  },
});
