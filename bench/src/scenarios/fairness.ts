/**
 * fairness (BENCHMARK.md): workspace A floods 10,000 jobs, then workspace B submits 100 of the
 * same priority. Figure: p99 wait of B's jobs, from the submit to the commit of the job's claim
 * (its start), timed as the bench receives the `job.started` event the worker publishes after
 * that commit (`startsFromDatabase` counts those it did not see and timed from the event's
 * `created_at`, the start of the claiming transaction); A's for comparison.
 *
 * The flood meets a running cluster: `--warmup` jobs (1,000) of a third workspace run to the end
 * first, so that the figure is a flood's effect on a cluster in service, not the cluster's
 * first second (connections opened and statements planned on each, in every process), which
 * is what B's jobs otherwise met: on one host in one hour their p99 was 476–1,084 ms cold and
 * 91–639 ms warm (docs/performance.md, the seventh session). `--warmup 0` measures the cold
 * start. `--headerless` publishes the commands without the `Gantry-Workspace` header, as a
 * service that does not set it would: the scheduler then finds each one's workspace in its body.
 *
 * `bFirstRound` is what the round that dispatched B's first jobs took, of B's and of A's (a
 * round's claim marks its jobs with one time). When A's first chunk and B's jobs both wait for
 * the idle slots, the round splits them evenly (64 each of 128), and B's jobs beyond its half
 * wait for slots to free, on a machine saturated by A's ingestion.
 *
 * `loopDelayMs` is how long each service's event loop was held, at most and at p99, over the
 * flood (from its start to the last job's end): a beat, a claim's answer or a dispatch waits
 * behind such a stretch. On two cores it counts the time a process waits for a core, too.
 */
import type { Scenario } from '../scenario.js';
import { metricSums, type ServiceProcess } from '@gantry/testkit';
import { percentile, standardJob, startCluster } from '../cluster.js';

export const fairness: Scenario = {
  name: 'fairness',
  description: 'p99 wait of a small workspace behind a flooding one (--flood 10000, --late 100, --warmup 1000 jobs of a third workspace first, --workers 2, --concurrency 64, --headerless: commands without the Gantry-Workspace header)',
  async run(args) {
    const flood = Number(args.get('flood') ?? 10_000);
    const lateCount = Number(args.get('late') ?? 100);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 64);
    const warmup = Number(args.get('warmup') ?? 1_000);
    const workspaceHeader = !args.has('headerless');
    const cluster = await startCluster({ workers, concurrency, workspaces: 3 });
    try {
      const [a, b, warm] = cluster.workspaceIds as [string, string, string];
      const services = [cluster.scheduler, ...cluster.workers];
      const spec = standardJob();
      if (warmup > 0) {
        await cluster.submit(Array.from({ length: warmup }, () => ({ workspaceId: warm, spec })));
        await cluster.waitForTerminal(warmup, 120_000);
      }
      // Each service's event-loop delay is read over the flood: this scrape starts the window.
      await Promise.all(services.map((p) => loopDelayMs(p)));
      const flooded = await cluster.submit(Array.from({ length: flood }, () => ({ workspaceId: a, spec })), { workspaceHeader });
      const late = await cluster.submit(Array.from({ length: lateCount }, () => ({ workspaceId: b, spec })), { workspaceHeader });
      await cluster.waitForTerminal(warmup + flood + lateCount, 600_000);
      const [schedulerDelay, ...workerDelays] = await Promise.all(services.map((p) => loopDelayMs(p)));
      const times = await cluster.timings();
      const waits = (jobs: typeof late) => jobs.map((j) => times.get(j.id)!.startSeenAt! - j.submittedAt);
      const bWaits = waits(late);
      const stages = await cluster.stages();
      const bIngest = late.map((j) => stages.get(j.id)!.queuedAt - j.submittedAt);
      const bDispatch = late.map((j) => stages.get(j.id)!.startedAt - stages.get(j.id)!.queuedAt);
      // The dispatch stage split at the claim: the scheduler's share, then the dispatch stream's and the worker's.
      const bClaim = late.map((j) => stages.get(j.id)!.dispatchedAt - stages.get(j.id)!.queuedAt);
      const bPickup = late.map((j) => stages.get(j.id)!.startedAt - stages.get(j.id)!.dispatchedAt);
      const aWaits = waits(flooded);
      const bFirstAt = late.reduce((t, j) => Math.min(t, stages.get(j.id)!.dispatchedAt), Infinity);
      const inRound = (jobs: typeof late) => jobs.filter((j) => stages.get(j.id)?.dispatchedAt === bFirstAt).length;
      return {
        flood,
        late: lateCount,
        warmup,
        workspaceHeader,
        bP50WaitMs: percentile(bWaits, 50),
        bP99WaitMs: percentile(bWaits, 99),
        startsFromDatabase: [...late, ...flooded].filter((j) => !times.get(j.id)!.startObserved).length,
        bStagesP99Ms: { ingest: percentile(bIngest, 99), dispatch: percentile(bDispatch, 99), claim: percentile(bClaim, 99), pickup: percentile(bPickup, 99) },
        aP50WaitMs: percentile(aWaits, 50),
        aP99WaitMs: percentile(aWaits, 99),
        bFirstRound: { b: inRound(late), a: inRound(flooded) },
        loopDelayMs: { scheduler: schedulerDelay, workers: workerDelays },
        workers,
        concurrency,
      };
    } finally {
      await cluster.stop();
    }
  },
};

/**
 * How long the process's event loop was held at most, and at p99, since its last scrape (Node's
 * event-loop delay monitor, sampled every 10 ms, through the service's /metrics; each scrape
 * starts a new window). A dispatch round, a beat or a claim's answer waits that long behind a
 * synchronous stretch of work.
 */
async function loopDelayMs(p: ServiceProcess): Promise<{ max: number; p99: number }> {
  const [max, p99] = await metricSums(p, ['nodejs_eventloop_lag_max_seconds', 'nodejs_eventloop_lag_p99_seconds']);
  return { max: Math.round(max! * 1000), p99: Math.round(p99! * 1000) };
}
