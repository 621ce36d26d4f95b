/**
 * latency (BENCHMARK.md): open-loop arrivals at 300 jobs/s for 30 s on a fixed schedule, not
 * closed-loop (a late job does not delay the next arrival). Figures: p50/p95/p99/max of submit →
 * terminal event committed, in ms, the p50/p99 of each stage (ingest, dispatch split at the
 * claim, run: see `JobStages`), and the CPU each process used over the run.
 *
 * The measured seconds follow a warm-up at the same rate (`--warmup`, 3 s): a cluster fresh from
 * its start spends its first second opening connections and planning statements on each, and
 * that second alone held about the slowest 1 % of a run (its jobs' p99 75 ms against 10–20 ms
 * in each later second). The warm-up's jobs run like the others but count only in
 * `warmupP99Ms`; with `--warmup 0` every job counts.
 *
 * `--burst N` first submits N jobs at once and waits for them to end, as a cluster that has just
 * drained a burst meets a steady rate: its writers have run their statements in waves of
 * hundreds. With `--history` (a job history already analyzed), this is how a long-lived
 * deployment runs, and how the JIT compilation of every write showed (docs/performance.md).
 *
 * `--http` submits through the API instead (`POST /runner-jobs/batch` with the jobs due, as a
 * service that submits over HTTP would), so the path also has the API's insert and its
 * announcement of the stored jobs; the ingest stage then starts at the request.
 *
 * Each job's latency runs from its scheduled arrival, `start + k × 1000 / rate` for job k, not
 * from when the bench got round to sending it: a load generator held up (its event loop busy, no
 * core free) sends late, and a job due meanwhile has waited from its due time (leaving that wait
 * out is coordinated omission). `stagesMs.send` is that lateness (due → command sent). It ends
 * when the job's terminal event reaches the bench on the events stream, published after its
 * commit (`JobTimes.endedAt`); `endsFromDatabase` counts the measured jobs whose message the bench
 * did not see, timed instead by the event's `created_at` (the start of its transaction). The
 * other stages are measured between events' `created_at` (see `JobStages`).
 *
 * A submit that fails ends the run at once (through the cluster's teardown), with its error.
 */
import { writeHistory } from '../history.js';
import type { Scenario } from '../scenario.js';
import { type JobStages, percentile, roundMs, standardJob, type StartCluster, startCluster } from '../cluster.js';
import { cpuSince, cpuSnapshot } from '../cpu.js';

export const latency: Scenario = {
  name: 'latency',
  description: 'submit → terminal event ms at a fixed arrival rate (--rate 300, --seconds 30 after --warmup 3 unmeasured, --workers 2, --concurrency 64, --history 0 completed jobs written first, --burst 0 jobs run at once before, --http to submit through the API)',
  async run(args, start: StartCluster = startCluster) {
    const rate = Number(args.get('rate') ?? 300);
    const seconds = Number(args.get('seconds') ?? 30);
    const warmup = Number(args.get('warmup') ?? 3);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 64);
    const history = Number(args.get('history') ?? 0);
    const burst = Number(args.get('burst') ?? 0);
    const http = args.has('http');
    const cluster = await start({ workers, concurrency, api: http });
    try {
      const ws = cluster.workspaceIds[0]!;
      if (history > 0) await writeHistory(cluster.pool, ws, history);
      const spec = standardJob();
      if (burst > 0) {
        await cluster.submit(Array.from({ length: burst }, () => ({ workspaceId: ws, spec })));
        // The history's jobs are terminal too.
        await cluster.waitForTerminal(history + burst, 600_000);
      }
      const warm = Math.round(rate * warmup);
      const total = warm + rate * seconds;
      let cpuBefore = cpuSnapshot();
      const startAt = Date.now() + 200;
      /** Job k is due k / rate seconds after the start, whenever the bench sends it. */
      const dueAt = (k: number) => startAt + (k * 1000) / rate;
      const all = new Array<Sent>(total);
      // Each submit's outcome is handled as it settles: the first failure stops the loop.
      const inFlight: Promise<void>[] = [];
      let failure: { error: unknown } | undefined;
      let sent = 0;
      while (sent < total && failure === undefined) {
        const due = Math.min(total, Math.floor(((Date.now() - startAt) * rate) / 1000) + 1);
        if (due > sent) {
          // The warm-up's last job goes alone, so that the measured window starts on a batch.
          const from = sent;
          const upTo = sent < warm ? Math.min(due, warm) : due;
          if (sent < warm && upTo === warm) cpuBefore = cpuSnapshot();
          const submitting = http
            ? cluster.submitHttp(ws, Array.from({ length: upTo - from }, () => spec))
            : cluster.submit(Array.from({ length: upTo - from }, () => ({ workspaceId: ws, spec })));
          inFlight.push(
            submitting.then(
              (jobs) => jobs.forEach((j, i) => (all[from + i] = { ...j, dueAt: dueAt(from + i) })),
              (error: unknown) => void (failure ??= { error }),
            ),
          );
          sent = upTo;
        }
        // Sleep until the next job is due, not a fixed millisecond: the load generator shares
        // the cores with the cluster it measures.
        await new Promise((r) => setTimeout(r, Math.max(0, dueAt(sent) - Date.now())));
      }
      await Promise.all(inFlight);
      if (failure !== undefined) throw failure.error;
      const warmJobs = all.slice(0, warm);
      const jobs = all.slice(warm);
      await cluster.waitForTerminal(history + burst + total, 120_000);
      // At a fixed rate the CPU per job is what decides the queueing: a saturated machine queues at every stage.
      const cpuSeconds = cpuSince(cpuBefore, {
        scheduler: cluster.scheduler.child.pid,
        ...Object.fromEntries(cluster.workers.map((w, i) => [`w${i}`, w.child.pid])),
        ...(cluster.api ? { api: cluster.api.child.pid } : {}),
        bench: process.pid,
      });
      const times = await cluster.timings();
      const latencyOf = (j: Sent) => times.get(j.id)!.endedAt! - j.dueAt;
      const latencies = jobs.map(latencyOf);
      const stages = await cluster.stages();
      const stage = (f: (s: JobStages, j: Sent) => number) => {
        const values = jobs.map((j) => f(stages.get(j.id)!, j));
        return { p50: roundMs(percentile(values, 50)), p99: roundMs(percentile(values, 99)) };
      };
      return {
        ...(http ? { via: 'http' } : {}),
        rate,
        seconds,
        jobs: jobs.length,
        warmupSeconds: warmup,
        warmupP99Ms: roundMs(percentile(warmJobs.map(latencyOf), 99)),
        p50Ms: roundMs(percentile(latencies, 50)),
        p95Ms: roundMs(percentile(latencies, 95)),
        p99Ms: roundMs(percentile(latencies, 99)),
        maxMs: roundMs(percentile(latencies, 100)),
        endsFromDatabase: jobs.filter((j) => !times.get(j.id)!.endObserved).length,
        stagesMs: {
          // The load generator's lateness: due → its command sent (0 when on time).
          send: stage((_, j) => j.submittedAt - j.dueAt),
          ingest: stage((s, j) => s.queuedAt - j.submittedAt),
          dispatch: stage((s) => s.startedAt - s.queuedAt),
          // The dispatch stage split at the scheduler's claim: its share, then the dispatch stream's and the worker's.
          claim: stage((s) => s.dispatchedAt - s.queuedAt),
          pickup: stage((s) => s.startedAt - s.dispatchedAt),
          run: stage((s) => s.endedAt - s.startedAt),
        },
        cpuSeconds,
        workers,
        concurrency,
        history,
        burst,
      };
    } finally {
      await cluster.stop();
    }
  },
};

/** A job the loop sent: its id, when its command was sent and when it was due (epoch ms). */
interface Sent {
  readonly id: string;
  readonly submittedAt: number;
  readonly dueAt: number;
}
