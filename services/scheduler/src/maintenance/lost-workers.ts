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
 *
 * A live worker can lose a job too: it gave the attempt up (its writes failed for longer than it
 * retries, or PostgreSQL refused one), or it restarted under the same id. Its beats list every
 * attempt it holds, from the dispatch's arrival to the write that ends it, so a RUNNING job of a
 * live worker that its beats have not listed for `lostAfterMs` is recovered the same way, with
 * an event saying so, rather than waiting for its deadline. Only jobs started more than twice
 * `lostAfterMs` ago are judged: the worker's last beat, at most `lostAfterMs` old, was then
 * taken after the claim, whatever the clocks of the two hosts.
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
  const live = workers.live();
  const liveIds = live.map((w) => w.workerId);
  const limit = opts.limit ?? 1_000;
  const lost = await ctx.pool.query<OrphanedJob & { worker_id: string }>(
    `SELECT ${ORPHAN_COLUMNS}, j.worker_id FROM runner_jobs j
     WHERE j.status = 'RUNNING' AND NOT (j.worker_id = ANY($1::text[]))
       AND j.started_at < now() - make_interval(secs => $2 / 1000.0)
     LIMIT $3`,
    [liveIds, opts.lostAfterMs, limit],
  );
  await requeue(ctx, lost.rows, (job) => `worker ${job.worker_id} stopped heartbeating`, 'recovered jobs of lost workers');
  const held = live.flatMap((w) => w.jobs);
  const dropped = await ctx.pool.query<OrphanedJob & { worker_id: string }>(
    `SELECT ${ORPHAN_COLUMNS}, j.worker_id FROM runner_jobs j
     WHERE j.status = 'RUNNING' AND j.worker_id = ANY($1::text[])
       AND j.started_at < now() - make_interval(secs => 2 * $2 / 1000.0)
       AND NOT EXISTS (SELECT 1 FROM unnest($3::uuid[], $4::int[]) AS h(id, attempt) WHERE h.id = j.id AND h.attempt = j.attempt)
     LIMIT $5`,
    [liveIds, opts.lostAfterMs, held.map((h) => h.jobId), held.map((h) => h.attempt), limit],
  );
  await requeue(ctx, dropped.rows, (job) => `worker ${job.worker_id} no longer holds the attempt (it gave it up, or restarted)`, 'recovered jobs their live workers no longer hold');
}

/** Ends the attempts of `orphans` as lost (queued again at once, or FAILED), between dispatch rounds. */
async function requeue(
  ctx: DutyContext,
  orphans: readonly (OrphanedJob & { worker_id: string })[],
  why: (job: OrphanedJob & { worker_id: string }) => string,
  what: string,
): Promise<void> {
  if (orphans.length === 0) return;
  const results = await ctx.betweenRounds(() => ctx.writer.writeMany(
    orphans.map((job) => {
      const error: JobError = { code: 'WORKER_LOST', message: why(job), retryable: true };
      return attemptFailed(job, error, 'worker_lost');
    }),
  ));
  const requeued = results.filter((r) => r.applied && r.status === 'QUEUED').length;
  ctx.logger.warn({ jobs: orphans.length, requeued, workers: [...new Set(orphans.map((j) => j.worker_id))] }, what);
  if (requeued > 0) {
    ctx.metrics.requeued.inc({ reason: 'worker_lost' }, requeued);
    ctx.wakeDispatcher();
  }
}
