/**
 * Lost workers. A RUNNING job whose worker has not beaten for `lostAfterMs` loses its attempt:
 * it is queued again at once as the next attempt (all steps reset), or FAILED when no attempt
 * is left, with a `job.queued{worker_lost}` / `job.failed` event saying why. A late result from
 * the lost worker is then refused by the attempt check. A new leader waits `lostAfterMs` before
 * judging, so that it has heard every live worker at least once, and so does a leader whose NATS
 * connection dropped or stalled (`WorkerRegistry.checkHearing`, a round trip before each pass):
 * while it is down no beat arrives, and every worker would look lost.
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
import { attemptFailed, countEnded, type DutyContext, ORPHAN_COLUMNS, type OrphanedJob } from './duty.js';

export async function recoverLostWorkersOnce(
  ctx: DutyContext,
  workers: WorkerRegistry,
  opts: {
    lostAfterMs: number;
    leaderSince: number;
    limit?: number;
  },
): Promise<void> {
  const hearing = await workers.checkHearing();
  if (hearing === undefined || Date.now() - Math.max(opts.leaderSince, hearing) < opts.lostAfterMs) return;
  const live = workers.live();
  const held = live.flatMap((w) => w.jobs);
  // One statement for both: a job whose worker is not live, and a live worker's job its beats
  // have not listed (judged on jobs started twice as long ago: see the module doc).
  const { rows } = await ctx.pool.query<OrphanedJob & { worker_id: string; worker_live: boolean }>(
    `SELECT ${ORPHAN_COLUMNS}, j.worker_id, j.worker_id = ANY($1::text[]) AS worker_live FROM runner_jobs j
     WHERE j.status = 'RUNNING' AND (
       (NOT (j.worker_id = ANY($1::text[])) AND j.started_at < now() - make_interval(secs => $2 / 1000.0))
       OR (j.worker_id = ANY($1::text[]) AND j.started_at < now() - make_interval(secs => 2 * $2 / 1000.0)
           AND NOT EXISTS (SELECT 1 FROM unnest($3::uuid[], $4::int[]) AS h(id, attempt) WHERE h.id = j.id AND h.attempt = j.attempt)))
     LIMIT $5`,
    [live.map((w) => w.workerId), opts.lostAfterMs, held.map((h) => h.jobId), held.map((h) => h.attempt), opts.limit ?? 1_000],
  );
  if (rows.length === 0) return;
  const results = await ctx.betweenRounds(() => ctx.writer.writeMany(
    rows.map((job) => {
      const message = job.worker_live
        ? `worker ${job.worker_id} no longer holds the attempt (it gave it up, or restarted)`
        : `worker ${job.worker_id} stopped heartbeating`;
      const error: JobError = { code: 'WORKER_LOST', message, retryable: true };
      return attemptFailed(job, error, 'worker_lost');
    }),
  ));
  countEnded(ctx.metrics, rows, results);
  const requeued = results.filter((r) => r.applied && r.status === 'QUEUED').length;
  const workersOf = (isLive: boolean) => [...new Set(rows.filter((j) => j.worker_live === isLive).map((j) => j.worker_id))];
  ctx.logger.warn({ jobs: rows.length, requeued, lostWorkers: workersOf(false), liveWorkers: workersOf(true) }, 'recovered jobs of lost workers, or that their live workers no longer hold');
  if (requeued > 0) {
    ctx.metrics.requeued.inc({ reason: 'worker_lost' }, requeued);
    ctx.wakeDispatcher();
  }
}
