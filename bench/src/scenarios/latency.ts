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
 */
import { writeHistory } from '../history.js';
import type { Scenario } from '../scenario.js';
import { type JobStages, percentile, standardJob, startCluster } from '../cluster.js';
import { cpuSince, cpuSnapshot } from '../cpu.js';

export const latency: Scenario = {
  name: 'latency',
  description: 'submit → terminal event ms at a fixed arrival rate (--rate 300, --seconds 30 after --warmup 3 unmeasured, --workers 2, --concurrency 64, --history 0 completed jobs written first, --burst 0 jobs run at once before, --http to submit through the API)',
  async run(args) {
    const rate = Number(args.get('rate') ?? 300);
    const seconds = Number(args.get('seconds') ?? 30);
    const warmup = Number(args.get('warmup') ?? 3);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 64);
    const history = Number(args.get('history') ?? 0);
    const burst = Number(args.get('burst') ?? 0);
    const http = args.has('http');
    const cluster = await startCluster({ workers, concurrency, api: http });
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
      const start = Date.now() + 200;
      const submitted: Promise<{ id: string; submittedAt: number }[]>[] = [];
      let sent = 0;
      while (sent < total) {
        const due = Math.min(total, Math.floor(((Date.now() - start) * rate) / 1000) + 1);
        if (due > sent) {
          // The warm-up's last job goes alone, so that the measured window starts on a batch.
          const upTo = sent < warm ? Math.min(due, warm) : due;
          if (sent < warm && upTo === warm) cpuBefore = cpuSnapshot();
          submitted.push(
            http
              ? cluster.submitHttp(ws, Array.from({ length: upTo - sent }, () => spec))
              : cluster.submit(Array.from({ length: upTo - sent }, () => ({ workspaceId: ws, spec }))),
          );
          sent = upTo;
        }
        // Sleep until the next job is due (job k is due k / rate seconds after the start), not
        // a fixed millisecond: the load generator shares the cores with the cluster it measures.
        const nextDueAt = start + (sent * 1000) / rate;
        await new Promise((r) => setTimeout(r, Math.max(0, nextDueAt - Date.now())));
      }
      const all = (await Promise.all(submitted)).flat();
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
      const latencyOf = (j: { id: string; submittedAt: number }) => times.get(j.id)!.endedAt! - j.submittedAt;
      const latencies = jobs.map(latencyOf);
      const stages = await cluster.stages();
      const stage = (f: (s: JobStages, submittedAt: number) => number) => {
        const values = jobs.map((j) => f(stages.get(j.id)!, j.submittedAt));
        return { p50: percentile(values, 50), p99: percentile(values, 99) };
      };
      return {
        ...(http ? { via: 'http' } : {}),
        rate,
        seconds,
        jobs: jobs.length,
        warmupSeconds: warmup,
        warmupP99Ms: warmJobs.length > 0 ? percentile(warmJobs.map(latencyOf), 99) : null,
        p50Ms: percentile(latencies, 50),
        p95Ms: percentile(latencies, 95),
        p99Ms: percentile(latencies, 99),
        maxMs: Math.max(...latencies),
        stagesMs: {
          ingest: stage((s, at) => s.queuedAt - at),
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
