/**
 * `GET /queue`: the workspace's backlog from PostgreSQL — per priority how many jobs wait to run
 * now (PENDING or QUEUED with no future run-at), how many are delayed, and how long the oldest
 * has waited (since it was queued, or since its run-at if later) — plus running and parked counts.
 */
import { defineRoute } from '../http/route.js';
import { tenantRead } from '../jobs/tenant.js';
import { QueueView } from '../schemas.js';

const BACKLOG = `
SELECT j.priority,
  count(*) FILTER (WHERE j.status IN ('PENDING', 'QUEUED') AND (j.run_at IS NULL OR j.run_at <= now()))::int AS depth,
  count(*) FILTER (WHERE j.status IN ('PENDING', 'QUEUED') AND j.run_at > now())::int AS delayed,
  count(*) FILTER (WHERE j.status = 'RUNNING')::int AS running,
  count(*) FILTER (WHERE j.status = 'WAITING')::int AS waiting,
  extract(epoch FROM now() - min(greatest(coalesce(j.queued_at, j.created_at), coalesce(j.run_at, '-infinity')))
    FILTER (WHERE j.status IN ('PENDING', 'QUEUED') AND (j.run_at IS NULL OR j.run_at <= now())))::float8 AS oldest_wait_seconds
FROM runner_jobs j
WHERE j.workspace_id = $1 AND j.status IN ('PENDING', 'QUEUED', 'RUNNING', 'WAITING')
GROUP BY j.priority
ORDER BY j.priority DESC`;

interface Row {
  priority: number;
  depth: number;
  delayed: number;
  running: number;
  waiting: number;
  oldest_wait_seconds: number | null;
}

function rounded(seconds: number | null): number | null {
  return seconds === null ? null : Math.max(0, Math.round(seconds * 1000) / 1000);
}

export const queueRoute = defineRoute({
  method: 'GET',
  url: '/queue',
  summary: 'The workspace’s backlog',
  scope: 'jobs:read',
  responses: { 200: { description: 'Depth per priority and the oldest wait.', schema: QueueView } },
  async handler(ctx) {
    const { workspaceId } = ctx.principal;
    const { rows } = await tenantRead(ctx.deps.pool, workspaceId, (db) => db.query<Row>(BACKLOG, [workspaceId]));
    const waits = rows.map((r) => r.oldest_wait_seconds).filter((s): s is number => s !== null);
    const sum = (key: 'depth' | 'delayed' | 'running' | 'waiting') => rows.reduce((n, r) => n + r[key], 0);
    return {
      status: 200,
      body: {
        depth: sum('depth'),
        delayed: sum('delayed'),
        running: sum('running'),
        waiting: sum('waiting'),
        oldestWaitSeconds: rounded(waits.length > 0 ? Math.max(...waits) : null),
        priorities: rows
          .filter((r) => r.depth + r.delayed > 0)
          .map((r) => ({ priority: r.priority, depth: r.depth, delayed: r.delayed, oldestWaitSeconds: rounded(r.oldest_wait_seconds) })),
      },
    };
  },
});
