/**
 * throughput (BENCHMARK.md): 20,000 standard jobs submitted by one producer as fast as the
 * NATS interface allows, 2 worker processes. Figure: jobs/s from the first submit to the last
 * terminal event committed, as the bench saw it (the arrival of its message on the events
 * stream, published after the commit; `endsFromDatabase` counts the jobs whose message the bench
 * did not see, timed by the event's `created_at`, the start of its transaction). The run fails
 * unless every job COMPLETED and exactly 10 events per job exist. It says where the CPU went over
 * the run (the services, PostgreSQL, nats-server, the machine's share) and how many row versions
 * the job tables took (`rowVersions`: inserts, updates, HOT updates), read once the services
 * have stopped and their sessions have flushed their statistics.
 */
import type { Scenario } from '../scenario.js';
import { standardJob, type StartCluster, startCluster } from '../cluster.js';
import { cpuSince, cpuSnapshot } from '../cpu.js';
import type { Pool } from '@gantry/store';

/**
 * Rows inserted and updated per job table over the run, and how many updates were HOT (no new
 * index entries): each non-HOT update writes an entry into every index of its table. Complete
 * only once every session that wrote has ended (a session flushes its statistics at most once a
 * second while busy, then only 10 s after it goes idle, or when it ends).
 */
async function rowVersionsOf(pool: Pool): Promise<Record<string, { inserted: number; updated: number; hot: number }>> {
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
  async run(args, start: StartCluster = startCluster) {
    const jobs = Number(args.get('jobs') ?? 20_000);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 256);
    const cluster = await start({ workers, concurrency });
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
      const { rows } = await cluster.pool.query<{ events: number; completed: number }>(
        `SELECT (SELECT count(*)::int FROM job_events) AS events,
                (SELECT count(*)::int FROM runner_jobs WHERE status = 'COMPLETED') AS completed`,
      );
      const { events, completed } = rows[0]!;
      if (completed !== jobs) throw new Error(`${jobs - completed} of ${jobs} jobs did not complete: no throughput figure`);
      if (events !== jobs * 10) throw new Error(`${events} events for ${jobs} jobs, not ${jobs * 10}: no throughput figure`);
      const ends = [...(await cluster.timings()).values()];
      const last = ends.reduce((t, e) => Math.max(t, e.endedAt ?? -Infinity), -Infinity);
      const seconds = (last - started) / 1000;
      await cluster.stopServices();
      const rowVersions = await rowVersionsOf(cluster.pool);
      return {
        jobs,
        completed,
        events,
        eventsExpected: jobs * 10,
        seconds: Number(seconds.toFixed(2)),
        jobsPerSecond: Math.round(completed / seconds),
        endsFromDatabase: ends.filter((e) => !e.endObserved).length,
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
