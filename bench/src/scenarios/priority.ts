/**
 * priority (BENCHMARK.md): 5,000 low-priority jobs whose EXECUTION step sleeps 2 ms; once about
 * 500 have completed, 50 high-priority jobs of the same shape. Figures: p50/p99 latency of the
 * high jobs (submit → terminal), and inversions: low jobs that started after the first high job
 * was submitted and before the last high job started, of which `inversionsBeyondDispatched`
 * were dispatched while a high job was already queued and waiting (the others had been handed to
 * a free slot before any high job was queued: the target counts only these). A high job's
 * `queued_at` is its creating statement's time, and a claim sees it only after the commit, some
 * milliseconds later on a busy machine: `inversionsAfterVisible` counts only the low jobs
 * dispatched after every high job could be read (polled from before the submit; `highVisibleMs`
 * is that delay after the first `queued_at`), i.e. those a claim chose over a high job it saw.
 * It also prints how fast the slots turn over (`lowJobsPerSecond`, `slotCycleMs`) and where a
 * low job's time in a slot goes (`lowStagesP50Ms`): a high job waits for slots to free, so its
 * latency follows the cycle. With `--express N`, each worker also has N express slots
 * (WORKER_EXPRESS_SLOTS) that the high jobs (priority 90, above the default express priority
 * of 80) can take while the ordinary slots are busy; `expressStarts` counts the jobs that did
 * and `expressRefused` the express dispatches a worker refused.
 *
 * A run's high p99 is about its slowest of 50 jobs that arrive together. `--bursts N` sends N
 * such bursts, one at a time, each once the one before has ended and 500 more low jobs have,
 * and reports the figures over all N × `--high` jobs (inversions summed, `highVisibleMs` the
 * largest): steadier figures for comparing two builds. Give `--low` at least 500 × N + 1,000, so
 * that the last burst still meets a backlog.
 *
 * A burst's high p99 is about its makespan, from its submit to its last terminal event
 * (`burstMakespanMs`), and a makespan cannot be shorter than the CPU its work needs spread over
 * the machine's cores. `burstCpuMs` is that CPU, per burst on average: what each process ran
 * from just before the burst's submit until a 5 ms poll saw all of it end (`cpu.ts`). With no
 * backlog (`--low 500`, the bursts after the low jobs ended) it is the burst's own cost; beside
 * a backlog it includes the low jobs'.
 *
 * A job's end is when its terminal event reached the bench on the events stream, published after
 * its commit (`JobTimes.endedAt`; `highEndsFromDatabase` counts the high jobs whose message the
 * bench did not see, timed by the event's `created_at` instead). Starts, inversions and the
 * stages are measured between events' `created_at` and the job rows' times (see `JobStages`).
 */
import { randomUUID } from 'node:crypto';
import { byIds, type Pool, statement } from '@gantry/store';
import type { Scenario } from '../scenario.js';
import { metricSum } from '@gantry/testkit';
import { type JobStages, percentile, standardJob, type StartCluster, startCluster } from '../cluster.js';
import { runTimeBetween, runTimeSnapshot } from '../cpu.js';

export const priority: Scenario = {
  name: 'priority',
  description: 'high-priority latency and inversions under a low-priority backlog (--low 5000, --high 50, --workers 2, --concurrency 16, --express 0 slots per worker, --bursts 1)',
  async run(args, start: StartCluster = startCluster) {
    const lowCount = Number(args.get('low') ?? 5_000);
    const highCount = Number(args.get('high') ?? 50);
    const workers = Number(args.get('workers') ?? 2);
    const concurrency = Number(args.get('concurrency') ?? 16);
    const express = Number(args.get('express') ?? 0);
    const bursts = Number(args.get('bursts') ?? 1);
    const cluster = await start({ workers, concurrency, workerEnv: { WORKER_EXPRESS_SLOTS: String(express) } });
    try {
      const ws = cluster.workspaceIds[0]!;
      const low = await cluster.submit(Array.from({ length: lowCount }, () => ({ workspaceId: ws, spec: standardJob({ priority: 10 }, 2) })));
      const processes = { scheduler: [cluster.scheduler.child.pid], workers: cluster.workers.map((w) => w.child.pid), bench: [process.pid] };
      const pids = Object.values(processes).flat();
      // Each burst: its jobs as submitted, when all of them could first be read, and the CPU
      // each process ran from just before its submit until all of it had ended.
      const sent: { high: { id: string; submittedAt: number }[]; visibleAt: number; cpuMs: Record<string, number> }[] = [];
      for (let b = 0; b < bursts; b++) {
        await cluster.waitForTerminal(Math.min(500 * (b + 1), lowCount) + highCount * b, 300_000);
        const highIds = Array.from({ length: highCount }, () => randomUUID());
        const visible = whenVisible(cluster.pool, highIds, () => cluster.checkRefusals());
        const before = runTimeSnapshot(pids);
        // Awaited together, so that a failure of either ends the run through its teardown (and
        // the other's later failure, once the pool has closed, has a handler).
        const [high, visibleAt] = await Promise.all([
          cluster.submit(highIds.map((id) => ({ id, workspaceId: ws, spec: standardJob({ priority: 90 }, 2) }))),
          visible,
        ]);
        await whenEnded(cluster.pool, highIds, () => cluster.checkRefusals());
        sent.push({ high, visibleAt, cpuMs: runTimeBetween(before, runTimeSnapshot(pids), processes) });
      }
      const high = sent.flatMap((s) => s.high);
      await cluster.waitForTerminal(lowCount + high.length, 600_000);
      const times = await cluster.timings();
      const inversions = sent.reduce((n, { high: burst }) => {
        const firstHighSubmitted = Math.min(...burst.map((h) => h.submittedAt));
        const lastHighStarted = Math.max(...burst.map((h) => times.get(h.id)!.startedAt!));
        return n + low.filter((l) => {
          const started = times.get(l.id)!.startedAt!;
          return started > firstHighSubmitted && started < lastHighStarted;
        }).length;
      }, 0);
      const highLatencies = high.map((h) => times.get(h.id)!.endedAt! - h.submittedAt);
      // How fast the slots turn over: low jobs from the first start to the last end, and the
      // time one slot takes to run a low job and get the next (slots ÷ that rate).
      const lowStarts = low.map((l) => times.get(l.id)!.startedAt!);
      const lowEnds = low.map((l) => times.get(l.id)!.endedAt!);
      const lowPerSecond = lowCount / ((Math.max(...lowEnds) - Math.min(...lowStarts)) / 1000);
      const stages = await cluster.stages();
      const lowStages = low.map((l) => stages.get(l.id)!);
      const lowStage = (f: (s: JobStages) => number) => percentile(lowStages.map(f), 50);
      const dispatches = (outcome: string) => metricSum(cluster.scheduler, 'gantry_dispatches_total', { outcome });
      const highStage = (f: (s: JobStages, submittedAt: number) => number) => percentile(high.map((h) => f(stages.get(h.id)!, h.submittedAt)), 99);
      const waitsByBurst = await Promise.all(sent.map((s) => highWaits(cluster.pool, s.high.map((h) => h.id))));
      const waitingHigh = waitsByBurst.flatMap((waits, b) => waits.map((w) => ({ ...w, visibleAt: sent[b]!.visibleAt })));
      // Per burst: from its first job's queued_at to when all of it could be read.
      const visibleMs = waitsByBurst.map((waits, b) => sent[b]!.visibleAt - Math.min(...waits.map((w) => w.queued)));
      const { rows: lowDispatches } = await cluster.pool.query<{ dispatched: Date }>(
        'SELECT dispatched_at AS dispatched FROM runner_jobs WHERE id = ANY($1::uuid[]) AND dispatched_at IS NOT NULL',
        [low.map((l) => l.id)],
      );
      // A low job dispatched while a high job was queued and not yet dispatched jumped the queue.
      const dispatchedOverHigh = lowDispatches.filter(({ dispatched }) =>
        waitingHigh.some((w) => w.queued <= dispatched.getTime() && dispatched.getTime() < w.dispatched),
      ).length;
      // The same, counting only dispatches after every high job was visible to a claim.
      const dispatchedOverVisibleHigh = lowDispatches.filter(({ dispatched }) =>
        waitingHigh.some((w) => w.visibleAt <= dispatched.getTime() && dispatched.getTime() < w.dispatched),
      ).length;
      return {
        low: lowCount,
        high: highCount,
        bursts,
        highP50Ms: percentile(highLatencies, 50),
        highP99Ms: percentile(highLatencies, 99),
        highEndsFromDatabase: high.filter((h) => !times.get(h.id)!.endObserved).length,
        inversions,
        inversionsBeyondDispatched: dispatchedOverHigh,
        inversionsAfterVisible: dispatchedOverVisibleHigh,
        highVisibleMs: Math.max(...visibleMs),
        highStagesP99Ms: {
          ingest: highStage((st, at) => st.queuedAt - at),
          dispatch: highStage((st) => st.startedAt - st.queuedAt),
          // The dispatch stage split at the scheduler's claim, as in `latency`.
          claim: highStage((st) => st.dispatchedAt - st.queuedAt),
          pickup: highStage((st) => st.startedAt - st.dispatchedAt),
          run: highStage((st) => st.endedAt - st.startedAt),
        },
        // A burst's span, its first submit to its last terminal event, and the CPU the machine's
        // processes ran meanwhile (to the poll that saw it end; with no backlog, the burst's own cost).
        burstMakespanMs: Math.round(mean(sent.map((s) => Math.max(...s.high.map((h) => times.get(h.id)!.endedAt!)) - Math.min(...s.high.map((h) => h.submittedAt))))),
        burstCpuMs: burstCpu(sent.map((s) => s.cpuMs)),
        lowJobsPerSecond: Math.round(lowPerSecond),
        // A low job's slot time at the median: dispatched → claimed by its worker, claimed → ended.
        lowStagesP50Ms: { pickup: lowStage((st) => st.startedAt - st.dispatchedAt), run: lowStage((st) => st.endedAt - st.startedAt) },
        slotCycleMs: Math.round((workers * concurrency * 1000) / lowPerSecond),
        slots: workers * concurrency,
        workers,
        concurrency,
        express,
        expressStarts: await dispatches('express'),
        expressRefused: await dispatches('express_refused'),
      };
    } finally {
      await cluster.stop();
    }
  },
};

/**
 * When all of `ids` could first be read (epoch ms): polled every millisecond by primary key from
 * before their submit, so this is their creation's commit, late by about one poll's round trip
 * (1–3 ms on a busy machine).
 */
function whenVisible(pool: Pool, ids: readonly string[], check: () => void): Promise<number> {
  return whenAll(pool, ids, 'were created', 1, 60_000, check);
}

function mean(values: readonly number[]): number {
  return values.reduce((a, b) => a + b, 0) / values.length;
}

/**
 * The CPU of a burst in milliseconds, per burst on average: the scheduler, the workers together,
 * PostgreSQL, nats-server and their `total`; and apart, the bench's own (its submit, its polls,
 * and part of reading these figures).
 */
function burstCpu(perBurst: readonly Record<string, number>[]): Record<string, number> {
  const cluster = ['scheduler', 'workers', 'postgres', 'natsServer'];
  const out: Record<string, number> = {};
  for (const key of [...cluster, 'bench']) out[key] = Math.round(mean(perBurst.map((cpu) => cpu[key] ?? 0)) * 10) / 10;
  out.total = Math.round(cluster.reduce((n, key) => n + out[key]!, 0) * 10) / 10;
  return out;
}

/** Resolves once every job of `ids` has ended; polled every 5 ms. */
async function whenEnded(pool: Pool, ids: readonly string[], check: () => void): Promise<void> {
  await whenAll(pool, ids, 'ended', 5, 120_000, check);
}

/**
 * The bench's polls, as named statements over a JSON list of ids (`byIds`): planned once per
 * connection. Polled as `id = ANY($1::uuid[])`, they were planned on every call, and during a
 * burst they cost PostgreSQL ≈ 8 ms of its time, beside the jobs they measure.
 */
const POLLS = {
  'were created': statement('bench_priority_created', `SELECT count(*)::int AS n FROM ${byIds('runner_jobs', '$1', 'j')}`),
  ended: statement('bench_priority_ended', `SELECT count(*)::int AS n FROM ${byIds('runner_jobs', '$1', 'j')} WHERE j.status IN ('COMPLETED', 'FAILED', 'CANCELLED')`),
};

/** When every job of `ids` first was `what` (epoch ms), polled every `everyMs`; `check` throws to end the wait (a refused command). */
async function whenAll(pool: Pool, ids: readonly string[], what: keyof typeof POLLS, everyMs: number, timeoutMs: number, check: () => void): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  const poll = POLLS[what]([JSON.stringify(ids)]);
  for (;;) {
    check();
    const { rows } = await pool.query<{ n: number }>(poll);
    if (rows[0]!.n === ids.length) return Date.now();
    if (Date.now() > deadline) throw new Error(`only ${rows[0]!.n} of ${ids.length} high jobs ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

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
