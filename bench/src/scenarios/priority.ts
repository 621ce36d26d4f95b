/**
 * priority (BENCHMARK.md): 5,000 low-priority jobs whose EXECUTION step sleeps 2 ms; once about
 * 500 have completed, 50 high-priority jobs of the same shape. Figures: p50/p99 latency of the
 * high jobs (submit → terminal), and inversions: low jobs that started after the first high job
 * was submitted and before the last high job started, of which `inversionsBeyondDispatched`
 * were dispatched while a high job was already queued and waiting (the others had been handed to
 * a free slot before any high job was queued: the target counts only these).
 */
import type { Pool } from '@gantry/store';
import type { Scenario } from '../run.js';
import { type JobStages, percentile, standardJob, startCluster } from '../cluster.js';

export const priority: Scenario = {
  name: 'priority',
  description: 'high-priority latency and inversions under a low-priority backlog (--low 5000, --high 50, --workers 2, --concurrency 16)',
  async run(args) {
    const lowCount = Number(args.get('low') ?? 5_000);
    const highCount = Number(args.get('high') ?? 50);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 16);
    const cluster = await startCluster({ workers, concurrency });
    try {
      const ws = cluster.workspaceIds[0]!;
      const low = await cluster.submit(Array.from({ length: lowCount }, () => ({ workspaceId: ws, spec: standardJob({ priority: 10 }, 2) })));
      await cluster.waitForTerminal(Math.min(500, lowCount), 300_000);
      const high = await cluster.submit(Array.from({ length: highCount }, () => ({ workspaceId: ws, spec: standardJob({ priority: 90 }, 2) })));
      await cluster.waitForTerminal(lowCount + highCount, 600_000);
      const times = await cluster.timings();
      const firstHighSubmitted = Math.min(...high.map((h) => h.submittedAt));
      const lastHighStarted = Math.max(...high.map((h) => times.get(h.id)!.startedAt!));
      const inversions = low.filter((l) => {
        const started = times.get(l.id)!.startedAt!;
        return started > firstHighSubmitted && started < lastHighStarted;
      }).length;
      const highLatencies = high.map((h) => times.get(h.id)!.endedAt! - h.submittedAt);
      const stages = await cluster.stages();
      const highStage = (f: (s: JobStages, submittedAt: number) => number) => percentile(high.map((h) => f(stages.get(h.id)!, h.submittedAt)), 99);
      const waitingHigh = await highWaits(cluster.pool, high.map((h) => h.id));
      const { rows: lowDispatches } = await cluster.pool.query<{ dispatched: Date }>(
        'SELECT dispatched_at AS dispatched FROM runner_jobs WHERE id = ANY($1::uuid[]) AND dispatched_at IS NOT NULL',
        [low.map((l) => l.id)],
      );
      // A low job dispatched while a high job was queued and not yet dispatched jumped the queue.
      const dispatchedOverHigh = lowDispatches.filter(({ dispatched }) =>
        waitingHigh.some((w) => w.queued <= dispatched.getTime() && dispatched.getTime() < w.dispatched),
      ).length;
      return {
        low: lowCount,
        high: highCount,
        highP50Ms: percentile(highLatencies, 50),
        highP99Ms: percentile(highLatencies, 99),
        inversions,
        inversionsBeyondDispatched: dispatchedOverHigh,
        highStagesP99Ms: {
          ingest: highStage((st, at) => st.queuedAt - at),
          dispatch: highStage((st) => st.startedAt - st.queuedAt),
          // The dispatch stage split at the scheduler's claim, as in `latency`.
          claim: highStage((st) => st.dispatchedAt - st.queuedAt),
          pickup: highStage((st) => st.startedAt - st.dispatchedAt),
          run: highStage((st) => st.endedAt - st.startedAt),
        },
        slots: workers * concurrency,
        workers,
        concurrency,
      };
    } finally {
      await cluster.stop();
    }
  },
};

/**
 * When each high job was queued and when it was dispatched (epoch ms). `queued_at` is taken by
 * the inserting statement, just before its commit; a claim that starts between the two cannot
 * see the job yet, so a dispatch in that window of a few milliseconds still counts here.
 */
async function highWaits(pool: Pool, ids: readonly string[]): Promise<{ queued: number; dispatched: number }[]> {
  const { rows } = await pool.query<{ queued: Date; dispatched: Date }>(
    `SELECT j.queued_at AS queued, j.dispatched_at AS dispatched
     FROM runner_jobs j WHERE j.id = ANY($1::uuid[]) AND j.dispatched_at IS NOT NULL`,
    [ids],
  );
  return rows.map((r) => ({ queued: r.queued.getTime(), dispatched: r.dispatched.getTime() }));
}
