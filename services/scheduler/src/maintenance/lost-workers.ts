/**
 * Lost workers. A RUNNING job whose worker has not beaten for `lostAfterMs` loses its attempt:
 * it is queued again at once as the next attempt (all steps reset), or FAILED when no attempt
 * is left, with a `job.queued{worker_lost}` / `job.failed` event saying why. A late result from
 * the lost worker is then refused by the attempt check. A new leader waits `lostAfterMs` before
 * judging, so that it has heard every live worker at least once, and so does a leader whose NATS
 * connection dropped (`WorkerRegistry.hearingSince`): while it is down no beat arrives, and every
 * worker would look lost.
 *
 * The jobs are queued again between dispatch rounds (`DutyContext.betweenRounds`): a round that
 * read the worker as live before it was forgotten would otherwise count the slots this frees as
 * its credit, and dispatch jobs to a worker that is gone.
 */
import type { JobError } from '@gantry/contracts';
import type { WorkerRegistry } from '../workers/registry.js';
import { attemptFailed, type DutyContext, ORPHAN_COLUMNS, type OrphanedJob } from './duty.js';

export async function recoverLostWorkersOnce(
  ctx: DutyContext,
  workers: WorkerRegistry,
  opts: {
    lostAfterMs: number;
    leaderSince: number;
    limit?: number;
  },
): Promise<void> {
  const hearing = workers.hearingSince();
  if (hearing === undefined || Date.now() - Math.max(opts.leaderSince, hearing) < opts.lostAfterMs) return;
  const live = workers.live().map((w) => w.workerId);
  const orphans = await ctx.pool.query<OrphanedJob & { worker_id: string }>(
    `SELECT ${ORPHAN_COLUMNS}, j.worker_id FROM runner_jobs j
     WHERE j.status = 'RUNNING' AND NOT (j.worker_id = ANY($1::text[]))
       AND j.started_at < now() - make_interval(secs => $2 / 1000.0)
     LIMIT $3`,
    [live, opts.lostAfterMs, opts.limit ?? 1_000],
  );
  if (orphans.rows.length === 0) return;
  const results = await ctx.betweenRounds(() => ctx.writer.writeMany(
    orphans.rows.map((job) => {
      const error: JobError = { code: 'WORKER_LOST', message: `worker ${job.worker_id} stopped heartbeating`, retryable: true };
      return attemptFailed(job, error, 'worker_lost');
    }),
  ));
  const requeued = results.filter((r) => r.applied && r.status === 'QUEUED').length;
  ctx.logger.warn({ jobs: orphans.rows.length, requeued, workers: [...new Set(orphans.rows.map((j) => j.worker_id))] }, 'recovered jobs of lost workers');
  if (requeued > 0) {
    ctx.metrics.requeued.inc({ reason: 'worker_lost' }, requeued);
    ctx.wakeDispatcher();
  }
}
