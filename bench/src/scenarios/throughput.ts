/**
 * throughput (BENCHMARK.md): 20,000 standard jobs submitted by one producer as fast as the
 * NATS interface allows, 2 worker processes. Figure: jobs/s from the first submit to the last
 * terminal event committed in PostgreSQL; checks that exactly 10 events per job exist; says
 * where the CPU went over the run (the services, PostgreSQL, nats-server, the machine's share).
 */
import type { Scenario } from '../run.js';
import { standardJob, startCluster } from '../cluster.js';
import { cpuSince, cpuSnapshot } from '../cpu.js';

export const throughput: Scenario = {
  name: 'throughput',
  description: 'jobs/s, first submit → last terminal event (--jobs 20000, --workers 2, --concurrency 64)',
  async run(args) {
    const jobs = Number(args.get('jobs') ?? 20_000);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 64);
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
      };
    } finally {
      await cluster.stop();
    }
  },
};
