/**
 * throughput (BENCHMARK.md): 20,000 standard jobs submitted by one producer as fast as the
 * NATS interface allows, 2 worker processes. Figure: jobs/s from the first submit to the last
 * terminal event committed in PostgreSQL; checks that exactly 10 events per job exist; says
 * where the CPU went over the run (the services, PostgreSQL, nats-server, the machine's share)
 * and how many row versions the job tables took (`rowVersions`: inserts, updates, HOT updates).
 */
import type { Scenario } from '../scenario.js';
import { standardJob, startCluster } from '../cluster.js';
import { cpuSince, cpuSnapshot } from '../cpu.js';
import type { Pool } from '@gantry/store';

/** Milliseconds within which every backend has reported its table statistics (PostgreSQL flushes them at least once a second when idle). */
const STATS_SETTLE_MS = 2_000;

/**
 * Rows inserted and updated per job table over the run, and how many updates were HOT (no new
 * index entries): each non-HOT update writes an entry into every index of its table.
 */
async function rowVersionsOf(pool: Pool): Promise<Record<string, { inserted: number; updated: number; hot: number }>> {
  await new Promise((r) => setTimeout(r, STATS_SETTLE_MS));
  const { rows } = await pool.query<{ relname: string; ins: string; upd: string; hot: string }>(
    `SELECT relname, n_tup_ins AS ins, n_tup_upd AS upd, n_tup_hot_upd AS hot FROM pg_stat_user_tables
     WHERE relname IN ('runner_jobs', 'job_steps', 'job_events') ORDER BY relname`,
  );
  return Object.fromEntries(rows.map((r) => [r.relname, { inserted: Number(r.ins), updated: Number(r.upd), hot: Number(r.hot) }]));
}

export const throughput: Scenario = {
  name: 'throughput',
  // 256 slots a worker: with 64, both cores idled a fifth of the run between the pipeline's
  // bursts (2,000–2,100 jobs/s here, against 2,800–2,900 with 256, machine 95 % busy).
  description: 'jobs/s, first submit → last terminal event (--jobs 20000, --workers 2, --concurrency 256)',
  async run(args) {
    const jobs = Number(args.get('jobs') ?? 20_000);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 256);
    const cluster = await startCluster({ workers, concurrency });
    try {
      const ws = cluster.workspaceIds[0]!;
      const spec = standardJob();
      const cpuBefore = cpuSnapshot();
      const started = Date.now();
      await cluster.submit(Array.from({ length: jobs }, () => ({ workspaceId: ws, spec })));
      const submittedMs = Date.now() - started;
      await cluster.waitForTerminal(jobs, 600_000);
      const cpuSeconds = cpuSince(cpuBefore, {
        scheduler: cluster.scheduler.child.pid,
        ...Object.fromEntries(cluster.workers.map((w, i) => [`w${i}`, w.child.pid])),
      });
      const { rows } = await cluster.pool.query<{ last: Date; events: number; completed: number }>(
        `SELECT (SELECT max(created_at) FROM job_events WHERE type IN ('job.completed','job.failed','job.cancelled')) AS last,
                (SELECT count(*)::int FROM job_events) AS events,
                (SELECT count(*)::int FROM runner_jobs WHERE status = 'COMPLETED') AS completed`,
      );
      const { last, events, completed } = rows[0]!;
      const rowVersions = await rowVersionsOf(cluster.pool);
      const seconds = (last.getTime() - started) / 1000;
      return {
        jobs,
        completed,
        events,
        eventsExpected: jobs * 10,
        seconds: Number(seconds.toFixed(2)),
        jobsPerSecond: Math.round(jobs / seconds),
        submitSeconds: Number((submittedMs / 1000).toFixed(2)),
        workers,
        concurrency,
        cpuSeconds,
        rowVersions,
      };
    } finally {
      await cluster.stop();
    }
  },
};
