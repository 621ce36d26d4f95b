/**
 * recovery (BENCHMARK.md): 1,000 jobs whose EXECUTION step sleeps 200 ms; one worker is killed
 * with SIGKILL mid-run. Figures: lost jobs (must be 0), jobs with two terminal events (must be
 * 0), and the time from the kill until the last job the killed worker held finished elsewhere.
 *
 * After the kill the run waits at most `--settle-ms` for every job to end, then counts: a job
 * not in a terminal status (or without a terminal event) is lost, and a FAILED or CANCELLED one
 * is counted apart (`failedJobs`, `cancelledJobs`): both are printed, never a thrown timeout.
 *
 * What the killed worker held: the jobs RUNNING on it (`heldByKilledWorker`), and the jobs
 * dispatched but not yet claimed by any worker at the kill (`dispatchedUnclaimedAtKill`): the
 * dispatch stream does not say which worker had pulled them, so these may include some of the
 * surviving worker's, which end soon. `recoveryMs` runs from the kill to the last end of either
 * kind (an end as the bench saw it: see `JobTimes.endedAt`); a lost one leaves it null.
 *
 * A dispatch the killed worker had pulled but not yet claimed is in no worker's hands: JetStream
 * redelivers it after the dispatch consumer's ack wait (5 s), so a kill that catches one makes
 * `recoveryMs` at least that.
 */
import type { Scenario } from '../scenario.js';
import { standardJob, type StartCluster, startCluster } from '../cluster.js';

export const recovery: Scenario = {
  name: 'recovery',
  description: 'kill -9 a worker mid-run: lost jobs, double completions, recovery time (--jobs 1000, --workers 2, --concurrency 32, --lost-ms 3000, --settle-ms 120000 to wait for the jobs after the kill)',
  async run(args, start: StartCluster = startCluster) {
    const count = Number(args.get('jobs') ?? 1_000);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 32);
    const lostMs = Number(args.get('lost-ms') ?? 3_000);
    const settleMs = Number(args.get('settle-ms') ?? 120_000);
    const cluster = await start({ workers, concurrency, schedulerEnv: { WORKER_LOST_MS: String(lostMs) } });
    try {
      const ws = cluster.workspaceIds[0]!;
      const jobs = await cluster.submit(Array.from({ length: count }, () => ({ workspaceId: ws, spec: standardJob({}, 200) })));
      await cluster.waitForTerminal(Math.floor(count / 4), 300_000);
      const victim = cluster.workers[0]!;
      const killedAt = Date.now();
      await victim.stop('SIGKILL');
      const { rows: held } = await cluster.pool.query<{ id: string; running: boolean }>(
        `SELECT id, status = 'RUNNING' AS running FROM runner_jobs
         WHERE (status = 'RUNNING' AND worker_id = 'w0') OR (status = 'QUEUED' AND dispatched_at IS NOT NULL)`,
      );
      await cluster.settle(count, settleMs);
      const times = await cluster.timings();
      const { rows: statuses } = await cluster.pool.query<{ id: string; status: string }>('SELECT id, status FROM runner_jobs');
      const status = new Map(statuses.map((r) => [r.id, r.status]));
      const ended = (id: string) => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(status.get(id) ?? '') && (times.get(id)?.endedAt ?? null) !== null;
      const lost = jobs.filter((j) => !ended(j.id)).length;
      const inStatus = (s: string) => jobs.filter((j) => status.get(j.id) === s).length;
      const doubled = [...times.values()].filter((t) => t.terminalEvents > 1).length;
      const heldEnds = held.map((r) => (ended(r.id) ? times.get(r.id)!.endedAt! : null));
      const requeued = await cluster.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM job_events WHERE type = 'job.queued' AND payload->>'reason' = 'worker_lost'`,
      );
      return {
        jobs: count,
        lostJobs: lost,
        failedJobs: inStatus('FAILED'),
        cancelledJobs: inStatus('CANCELLED'),
        doubleTerminal: doubled,
        heldByKilledWorker: held.filter((r) => r.running).length,
        dispatchedUnclaimedAtKill: held.filter((r) => !r.running).length,
        requeuedWorkerLost: requeued.rows[0]!.n,
        recoveryMs: heldEnds.includes(null) ? null : heldEnds.reduce<number>((t, e) => Math.max(t, e!), killedAt) - killedAt,
        endsFromDatabase: jobs.filter((j) => ended(j.id) && !times.get(j.id)!.endObserved).length,
        workerLostMs: lostMs,
        settleMs,
        workers,
        concurrency,
      };
    } finally {
      await cluster.stop();
    }
  },
};
