/**
 * recovery (BENCHMARK.md): 1,000 jobs whose EXECUTION step sleeps 200 ms; one worker is killed
 * with SIGKILL mid-run. Figures: lost jobs (must be 0), jobs with two terminal events (must be
 * 0), and the time from the kill until the last job the killed worker held finished elsewhere.
 */
import type { Scenario } from '../scenario.js';
import { standardJob, startCluster } from '../cluster.js';

export const recovery: Scenario = {
  name: 'recovery',
  description: 'kill -9 a worker mid-run: lost jobs, double completions, recovery time (--jobs 1000, --workers 2, --concurrency 32, --lost-ms 3000)',
  async run(args) {
    const count = Number(args.get('jobs') ?? 1_000);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 32);
    const lostMs = Number(args.get('lost-ms') ?? 3_000);
    const cluster = await startCluster({ workers, concurrency, schedulerEnv: { WORKER_LOST_MS: String(lostMs) } });
    try {
      const ws = cluster.workspaceIds[0]!;
      const jobs = await cluster.submit(Array.from({ length: count }, () => ({ workspaceId: ws, spec: standardJob({}, 200) })));
      await cluster.waitForTerminal(Math.floor(count / 4), 300_000);
      const victim = cluster.workers[0]!;
      const killedAt = Date.now();
      await victim.stop('SIGKILL');
      const held = await cluster.pool.query<{ id: string }>(`SELECT id FROM runner_jobs WHERE status = 'RUNNING' AND worker_id = 'w0'`);
      await cluster.waitForTerminal(count, 600_000);
      const times = await cluster.timings();
      const lost = jobs.filter((j) => !times.get(j.id)?.endedAt).length;
      const doubled = [...times.values()].filter((t) => t.terminalEvents > 1).length;
      const recoveredAt = Math.max(killedAt, ...held.rows.map((r) => times.get(r.id)?.endedAt ?? killedAt));
      const requeued = await cluster.pool.query<{ n: number }>(
        `SELECT count(*)::int AS n FROM job_events WHERE type = 'job.queued' AND payload->>'reason' = 'worker_lost'`,
      );
      return {
        jobs: count,
        lostJobs: lost,
        doubleTerminal: doubled,
        heldByKilledWorker: held.rows.length,
        requeuedWorkerLost: requeued.rows[0]!.n,
        recoveryMs: recoveredAt - killedAt,
        workerLostMs: lostMs,
        workers,
        concurrency,
      };
    } finally {
      await cluster.stop();
    }
  },
};
