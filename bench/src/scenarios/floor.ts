/**
 * floor: what PostgreSQL alone costs for the standard job, with no service in the way. Every row
 * and row version the cluster writes for a job of three no-op steps is written through the
 * store's own statements, for `--batch` jobs at a time on `--lanes` connections, each lane taking
 * its batches through the job's four writes in turn:
 *
 * 1. creation, QUEUED (`insertJobs`): the job row, three step rows, `job.created` and `job.queued`;
 * 2. the dispatch mark: the row change of the scheduler's claim (`dispatched_at`), without its
 *    choice of jobs;
 * 3. the worker's claim (`applyWrites`, with `load`): RUNNING, `job.started`;
 * 4. the terminal write: three steps COMPLETED, their `step.started` and `step.completed`,
 *    `job.completed`.
 *
 * Ten durable events per job, as in `throughput`, checked after the batches. The figures are the jobs/s
 * this machine's PostgreSQL reaches when batching is as good as it gets and the services, NATS
 * and the bench cost nothing, and PostgreSQL's CPU per job: an upper bound for `throughput`, and
 * the share of a job's cost that is PostgreSQL's own work rather than the pipeline's.
 *
 * `serial` is the same four writes for one job at a time, as `latency` offers them (`--rate`
 * jobs/s on a fixed schedule, `--serial-jobs` of them): how long the four commits take end to
 * end with nothing between them, a floor for `latency` with the cluster's four durable steps.
 *
 * `burst` is the floor for `priority`: `--burst-jobs` (50) jobs offered at once, as its high jobs
 * are, `--bursts` (20) times on an idle database, each burst taken through the four writes and
 * the EXECUTION step's 2 ms sleep (between the claim and the terminal write) in groups run side
 * by side on their own connections. Every split of the burst into 1, 2, 3, 5 and 10 groups is
 * tried, since fewer groups cost PostgreSQL fewer statements and more of them use both cores;
 * each prints the p50/p99 latency of the burst's jobs (from the offer to the terminal commit
 * that took the job along), the burst's span, and PostgreSQL's CPU per burst. The best split's
 * p99 is how soon PostgreSQL alone can make 50 such jobs durable here, with no NATS, no service
 * and no choice of jobs in the way: the part of `priority`'s high p99 that no runner making
 * these four commits per job can go below on this machine.
 */
import { randomUUID } from 'node:crypto';
import { cpus } from 'node:os';
import type { JobSpec } from '@gantry/contracts';
import { applyWrites, createPool, insertJobs, type JobWrite, type LoadedJob, type Pool, type StepPatch } from '@gantry/store';
import { createTemplate, createTestDatabase, dropTemplate, jobSpec } from '@gantry/testkit';
import type { Scenario } from '../scenario.js';
import { percentile, roundMs, standardJob } from '../cluster.js';
import { cpuSince, cpuSnapshot, runTimeBetween, runTimeSnapshot } from '../cpu.js';

const ACTOR = 'bench-floor';
/** The EXECUTION step's sleep of `priority`'s jobs, which a burst's jobs wait between claim and end. */
const BURST_RUN_MS = 2;
const WORKER = 'bench-floor-worker';

const MARK_SQL = `UPDATE runner_jobs SET dispatched_at = now(), version = version + 1, updated_at = now()
  WHERE id = ANY($1::uuid[]) AND status = 'QUEUED' AND dispatched_at IS NULL`;

/** The worker's claim of a dispatched job (docs/protocol.md, move 4), answered with the job. */
function claimWrite(jobId: string): JobWrite {
  return {
    jobId,
    attempt: 1,
    expect: ['QUEUED'],
    to: 'RUNNING',
    set: { workerId: WORKER, startedAt: 'now', deadlineAt: 'timeout' },
    events: [{ type: 'job.started', actor: ACTOR, attempt: 1, payload: { attempt: 1, workerId: WORKER } }],
    load: true,
  };
}

/** Every step started and completed, and the job COMPLETED (moves 5 and 6), as one write. */
function terminalWrite(job: LoadedJob): JobWrite {
  const steps: StepPatch[] = [];
  const events: JobWrite['events'][number][] = [];
  for (const step of job.steps) {
    steps.push({
      stepId: step.id, status: 'COMPLETED', attempt: 1, startedAt: 'now', completedAt: 'now', durationMs: 0,
      error: null, exitCode: null, outputTail: null, output: null, inputTokens: 0, outputTokens: 0,
    });
    events.push(
      { type: 'step.started', actor: ACTOR, attempt: 1, stepId: step.id, payload: { name: step.name, phase: step.phase, type: step.type } },
      { type: 'step.completed', actor: ACTOR, attempt: 1, stepId: step.id, payload: { durationMs: 0 } },
    );
  }
  events.push({ type: 'job.completed', actor: ACTOR, attempt: 1, payload: { durationMs: 0, result: null } });
  return {
    jobId: job.id,
    attempt: 1,
    expect: ['RUNNING'],
    to: 'COMPLETED',
    set: { progress: 100, result: null, completedAt: 'now', workerId: null },
    steps,
    events,
  };
}

/**
 * Takes one batch of new jobs of `spec` through their four writes, each its own transaction,
 * with `runMs` between the claim and the terminal write (the steps' own time).
 */
async function runBatch(pool: Pool, workspaceId: string, spec: JobSpec, count: number, runMs = 0): Promise<void> {
  const ids = Array.from({ length: count }, () => randomUUID());
  await insertJobs(pool, ids.map((id) => ({ id, workspaceId, spec, status: 'QUEUED' as const, actor: ACTOR })));
  await pool.query(MARK_SQL, [ids]);
  const claimed = await applyWrites(pool, ids.map(claimWrite));
  const jobs = claimed.map((r, i) => {
    if (!r.applied || r.job === undefined) throw new Error(`the claim of job ${ids[i]} was refused`);
    return r.job;
  });
  if (runMs > 0) await new Promise((r) => setTimeout(r, runMs));
  const ended = await applyWrites(pool, jobs.map(terminalWrite));
  if (ended.some((r) => !r.applied)) throw new Error('a terminal write was refused');
}

/** Offers one job every `1 / rate` s on a fixed schedule, each through its four writes; answers each job's ms. */
async function runSerial(pool: Pool, workspaceId: string, spec: JobSpec, jobs: number, rate: number): Promise<number[]> {
  const took: number[] = [];
  const running: Promise<void>[] = [];
  let failure: unknown;
  const start = performance.now();
  for (let sent = 0; sent < jobs && failure === undefined; sent++) {
    const dueAt = start + (sent * 1000) / rate;
    await new Promise((r) => setTimeout(r, Math.max(0, dueAt - performance.now())));
    running.push(
      runBatch(pool, workspaceId, spec, 1).then(
        () => void took.push(performance.now() - dueAt),
        (err: unknown) => void (failure ??= err),
      ),
    );
  }
  await Promise.all(running);
  if (failure !== undefined) throw failure;
  return took;
}

/** One split of a burst: its jobs' latencies, its spans and PostgreSQL's CPU per burst. */
interface BurstFloor {
  groups: number;
  p50Ms: number;
  p99Ms: number;
  spanP50Ms: number;
  postgresCpuMsPerBurst: number | null;
}

/**
 * `bursts` bursts of `size` jobs, one after the other, each split into `groups` batches taken
 * through their writes side by side; a job's latency is its batch's end, from the burst's offer.
 */
async function runBursts(pool: Pool, workspaceId: string, spec: JobSpec, bursts: number, size: number, groups: number, runMs: number): Promise<BurstFloor> {
  const latencies: number[] = [];
  const spans: number[] = [];
  const cpu: number[] = [];
  for (let b = 0; b < bursts; b++) {
    const before = runTimeSnapshot();
    const offered = performance.now();
    await Promise.all(
      Array.from({ length: groups }, async (_, g) => {
        const count = Math.floor(size / groups) + (g < size % groups ? 1 : 0);
        await runBatch(pool, workspaceId, spec, count, runMs);
        const took = performance.now() - offered;
        for (let i = 0; i < count; i++) latencies.push(took);
      }),
    );
    spans.push(performance.now() - offered);
    const postgres = runTimeBetween(before, runTimeSnapshot(), {}).postgres;
    if (postgres !== undefined) cpu.push(postgres);
  }
  return {
    groups,
    p50Ms: roundMs(percentile(latencies, 50)),
    p99Ms: roundMs(percentile(latencies, 99)),
    spanP50Ms: roundMs(percentile(spans, 50)),
    postgresCpuMsPerBurst: cpu.length === 0 ? null : roundMs(cpu.reduce((a, c) => a + c, 0) / cpu.length),
  };
}

export const floor: Scenario = {
  name: 'floor',
  description: "PostgreSQL's own cost of the standard job, no services: jobs/s and its CPU per job (--jobs 20000, --batch 500, --lanes 4), then one job at a time (--serial-jobs 3000, --rate 300), then bursts as priority sends them (--bursts 20, --burst-jobs 50)",
  async run(args) {
    const total = Number(args.get('jobs') ?? 20_000);
    const batch = Number(args.get('batch') ?? 500);
    const lanes = Number(args.get('lanes') ?? 4);
    const serialJobs = Number(args.get('serial-jobs') ?? 3_000);
    const rate = Number(args.get('rate') ?? 300);
    const bursts = Number(args.get('bursts') ?? 20);
    const burstJobs = Number(args.get('burst-jobs') ?? 50);
    const template = await createTemplate();
    const db = await createTestDatabase(template);
    // Enough connections that a serial job never waits for one.
    const pool = createPool(db.url, { max: Math.max(lanes, 8), applicationName: 'bench-floor' });
    try {
      const { rows } = await pool.query<{ id: string }>(`INSERT INTO workspaces (name) VALUES ('floor') RETURNING id`);
      const workspaceId = rows[0]!.id;
      const spec = jobSpec(standardJob());
      // One batch first, so that every connection is open and every statement planned.
      await Promise.all(Array.from({ length: lanes }, () => runBatch(pool, workspaceId, spec, Math.min(batch, 50))));
      const { rows: before } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM job_events');

      let next = 0;
      const cpuBefore = cpuSnapshot();
      const started = performance.now();
      await Promise.all(
        Array.from({ length: lanes }, async () => {
          while (next < total) {
            const count = Math.min(batch, total - next);
            next += count;
            await runBatch(pool, workspaceId, spec, count);
          }
        }),
      );
      const seconds = (performance.now() - started) / 1000;
      const cpuSeconds = cpuSince(cpuBefore, { bench: process.pid });

      const { rows: after } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM job_events');
      const events = after[0]!.n - before[0]!.n;
      if (events !== total * 10) throw new Error(`expected ${total * 10} events in PostgreSQL, found ${events}`);

      const serialCpuBefore = cpuSnapshot();
      const took = await runSerial(pool, workspaceId, spec, serialJobs, rate);
      const serialCpu = cpuSince(serialCpuBefore, { bench: process.pid });

      const splits: BurstFloor[] = [];
      for (const groups of [1, 2, 3, 5, 10].filter((g) => g <= burstJobs)) {
        splits.push(await runBursts(pool, workspaceId, spec, bursts, burstJobs, groups, BURST_RUN_MS));
      }
      const best = splits.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a));
      const { rows: end } = await pool.query<{ n: number }>('SELECT count(*)::int AS n FROM job_events');
      const burstEvents = end[0]!.n - after[0]!.n - serialJobs * 10;
      const expectedBurstEvents = splits.length * bursts * burstJobs * 10;
      if (burstEvents !== expectedBurstEvents) throw new Error(`expected ${expectedBurstEvents} events from the bursts, found ${burstEvents}`);
      return {
        jobs: total,
        events,
        seconds: Number(seconds.toFixed(2)),
        jobsPerSecond: Math.round(total / seconds),
        postgresMsPerJob: cpuSeconds.postgres === undefined ? null : Number(((cpuSeconds.postgres * 1000) / total).toFixed(3)),
        batch,
        lanes,
        cpuSeconds,
        serial: {
          rate,
          jobs: serialJobs,
          p50Ms: roundMs(percentile(took, 50)),
          p95Ms: roundMs(percentile(took, 95)),
          p99Ms: roundMs(percentile(took, 99)),
          maxMs: roundMs(percentile(took, 100)),
          postgresMsPerJob: serialCpu.postgres === undefined ? null : Number(((serialCpu.postgres * 1000) / serialJobs).toFixed(3)),
        },
        burst: { jobs: burstJobs, bursts, runMs: BURST_RUN_MS, bestP99Ms: best.p99Ms, bestGroups: best.groups, splits },
        cores: cpus().length,
      };
    } finally {
      await pool.end();
      await db.drop();
      await dropTemplate(template);
    }
  },
};
