/**
 * A Gantry cluster for one benchmark run: its own database (migrated from scratch), its own
 * NATS namespace, a scheduler process and N worker processes, driven through the public NATS
 * interface (batched submit commands with an API token), or with `api` through the HTTP API
 * (its own process, `submitHttp`). Torn down afterwards, whatever happened.
 */
import { randomUUID } from 'node:crypto';
import { Headers, type JobSpecInput, type SubmitCommand, JobSpec, parseWith } from '@gantry/contracts';
import { createPublisher, type Publisher } from '@gantry/runtime';
import { createPool, mintToken, type Pool } from '@gantry/store';
import {
  createTemplate,
  createTestDatabase,
  createTestNamespace,
  dropTemplate,
  freePort,
  startService,
  sweepStaleTestResources,
  type ServiceProcess,
  type TestDatabase,
  type TestNamespace,
} from '@gantry/testkit';
import { type Observer, refusedError, startObserver } from './observer.js';
import { profilingArgs } from './profile.js';

export interface ClusterOptions {
  workers: number;
  /** Slots per worker. */
  concurrency: number;
  /** Workspaces to create (named ws0, ws1, …). */
  workspaces?: number;
  schedulerEnv?: Record<string, string>;
  workerEnv?: Record<string, string>;
  /** Also start the API (rate limit off), for `submitHttp`. */
  api?: boolean;
}

export interface Cluster {
  readonly pool: Pool;
  readonly ns: TestNamespace;
  readonly workspaceIds: readonly string[];
  readonly scheduler: ServiceProcess;
  readonly workers: ServiceProcess[];
  /** The API's process, with `api`. */
  readonly api: ServiceProcess | undefined;
  /**
   * Publishes batched submit commands for `jobs` (asynchronously, bounded in flight); resolves
   * when all are acked by JetStream. A job's id is made here unless it names one. Commands carry
   * the `Gantry-Workspace` header, as the API's do, unless `workspaceHeader` is false (a
   * publisher that does not set it).
   */
  submit(jobs: readonly { workspaceId: string; spec: JobSpecInput; id?: string }[], opts?: { workspaceHeader?: boolean }): Promise<{ id: string; submittedAt: number }[]>;
  /**
   * Submits `specs` to workspace `workspaceId` through the API, in one `POST /runner-jobs/batch`
   * (the cluster must have `api`); their ids as the API answered, and when the request was sent.
   */
  submitHttp(workspaceId: string, specs: readonly JobSpecInput[]): Promise<{ id: string; submittedAt: number }[]>;
  /**
   * Polls until `count` jobs are in a terminal status (less often while many remain); returns
   * when it saw them. Throws after `timeoutMs`, or at once when the scheduler refused a command
   * of the bench's (see {@link Cluster.checkRefusals}).
   */
  waitForTerminal(count: number, timeoutMs: number): Promise<number>;
  /**
   * Like {@link Cluster.waitForTerminal}, but answers how many jobs were terminal when `count`
   * were, or when `timeoutMs` passed, instead of throwing on the timeout.
   */
  settle(count: number, timeoutMs: number): Promise<number>;
  /** Throws, with the scheduler's reason, if it refused any command of the bench's (read from the dead-letter subjects). */
  checkRefusals(): void;
  /** Starts one more worker process (worker ids are w0, w1, … in start order). */
  startWorker(): Promise<ServiceProcess>;
  /**
   * Start and end times per job (see {@link JobTimes}): the start from the events in PostgreSQL,
   * the end from the arrival of the job's terminal event at the bench.
   */
  timings(): Promise<Map<string, JobTimes>>;
  /** Per job, ms spent in each stage of its last attempt (see {@link JobStages}). */
  stages(): Promise<Map<string, JobStages>>;
  /**
   * Stops the service processes (SIGTERM) and waits until their database sessions have ended,
   * which flushes each session's pending table statistics; the database stays for reading.
   */
  stopServices(): Promise<void>;
  stop(): Promise<void>;
}

const TERMINAL = `status IN ('COMPLETED', 'FAILED', 'CANCELLED')`;

/** Jobs per submit command the cluster publishes (a standard job is ~300 bytes as JSON). */
const SUBMIT_BATCH = 500;

/** Starts a cluster; scenarios take one so that tests can hand them a wrapped or fake cluster. */
export type StartCluster = (opts: ClusterOptions) => Promise<Cluster>;

/**
 * How long `timings` waits for the terminal events PostgreSQL already holds to reach the bench
 * (each is published just after its commit) before it times the missing ones from the database.
 */
const END_GRACE_MS = 2_000;

/** When a job started (its last attempt), on which worker, and when it ended. */
export interface JobTimes {
  /** `job.started`'s `created_at` (the start of the claiming transaction; its last attempt's). */
  startedAt: number | null;
  /**
   * When the job's first claim was committed, as the bench saw it: the arrival of its first
   * `job.started` message; where the bench did not see it (`startObserved` false), the first
   * `job.started`'s `created_at`. Null for a job that never started.
   */
  startSeenAt: number | null;
  /** True when `startSeenAt` is the arrival of the `job.started` message at the bench. */
  startObserved: boolean;
  workerId: string | null;
  /**
   * When the job's terminal event was committed, as the bench saw it: the arrival of its message
   * on the events stream; where the bench did not see that message (`endObserved` false), the
   * event's `created_at`, the start of its transaction (earlier than the commit).
   */
  endedAt: number | null;
  /** True when `endedAt` is the arrival of the terminal event at the bench. */
  endObserved: boolean;
  /** How many terminal events the job has (exactly one for a finished job). */
  terminalEvents: number;
}

/**
 * Where a job's time went, in ms (every time here is an event's `created_at` or a column set by
 * a statement, i.e. the start of its transaction, so the stages are comparable with each other
 * but each end is earlier than its commit; the headline figures end at `JobTimes.endedAt`): `ingest` submit command → job stored and queued (measured
 * from the `job.queued` event, so it starts at the command's issue time), `dispatch` queued →
 * claimed for a worker (`job.started` minus `job.queued`, the scheduler's and the dispatch
 * stream's share; `dispatchedAt` splits it at the scheduler's claim), `run` started → terminal
 * event. A job claimed in the transaction that created it has the same time for both (that
 * transaction's), so its claim stage is 0 and its pickup includes the rest of its creation.
 */
export interface JobStages {
  readonly queuedAt: number;
  /** When the scheduler's claim marked the job dispatched (its last dispatch). */
  readonly dispatchedAt: number;
  readonly startedAt: number;
  readonly endedAt: number;
}

/** Waits until the API at `base` answers its readiness check. */
export async function apiReady(base: string): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fetch(`${base}/readyz`).then((r) => r.ok, () => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the api did not become ready');
}

export async function startCluster(opts: ClusterOptions): Promise<Cluster> {
  await sweepStaleTestResources();
  const template = await createTemplate();
  let db: TestDatabase | undefined;
  let ns: TestNamespace | undefined;
  let pool: Pool | undefined;
  let publisher: Publisher | undefined;
  let observer: Observer | undefined;
  const processes: ServiceProcess[] = [];
  const teardown = async () => {
    for (const p of processes) await p.stop('SIGTERM').catch(() => undefined);
    await publisher?.close().catch(() => undefined);
    await observer?.close().catch(() => undefined);
    await pool?.end().catch(() => undefined);
    await ns?.cleanup().catch(() => undefined);
    await db?.drop().catch(() => undefined);
    await dropTemplate(template).catch(() => undefined);
  };
  try {
    db = await createTestDatabase(template);
    ns = await createTestNamespace({ provision: true });
    pool = createPool(db.url, { max: 4, applicationName: 'bench' });
    const workspaceIds: string[] = [];
    const tokens = new Map<string, string>();
    for (let i = 0; i < (opts.workspaces ?? 1); i++) {
      const { rows } = await pool.query<{ id: string }>('INSERT INTO workspaces (name) VALUES ($1) RETURNING id', [`ws${i}`]);
      const id = rows[0]!.id;
      const minted = mintToken();
      await pool.query(
        `INSERT INTO api_tokens (workspace_id, name, token_hash, prefix, scopes) VALUES ($1, 'bench', $2, $3, $4)`,
        [id, minted.hash, minted.prefix, ['jobs:write']],
      );
      const secret = minted.token;
      workspaceIds.push(id);
      tokens.set(id, secret);
    }
    const env = { DATABASE_URL: db.url, GANTRY_NAMESPACE: ns.namespace, METRICS_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'warn' };
    const ready = (p: ServiceProcess) => p.waitForLog((l) => l.msg === 'service started', 60_000).then(() => p);
    let workerCount = 0;
    const spawnWorker = () => {
      const workerId = `w${workerCount++}`;
      const p = startService(
        'worker',
        { ...env, WORKER_ID: workerId, WORKER_CONCURRENCY: String(opts.concurrency), LOG_LEVEL: 'info', ...opts.workerEnv },
        { nodeArgs: profilingArgs('worker') },
      );
      processes.push(p);
      return ready(p);
    };
    const scheduler = startService('scheduler', { ...env, LOG_LEVEL: 'info', ...opts.schedulerEnv }, { nodeArgs: profilingArgs('scheduler') });
    processes.push(scheduler);
    await ready(scheduler);
    const workers = await Promise.all(Array.from({ length: opts.workers }, spawnWorker));
    let apiBase: string | undefined;
    let api: ServiceProcess | undefined;
    if (opts.api) {
      const port = await freePort();
      api = startService('api', { ...env, PORT: String(port), RATE_LIMIT_PER_SECOND: '0' }, { nodeArgs: profilingArgs('api') });
      processes.push(api);
      apiBase = `http://127.0.0.1:${port}`;
      await apiReady(apiBase);
    }
    publisher = createPublisher(ns.nc, { maxInFlight: 256 });
    observer = await startObserver(ns.names);
    const names = ns.names;
    const p = pool;
    const pub = publisher;
    const seen = observer;
    const checkRefusals = () => {
      if (seen.refusals.length > 0) throw refusedError(seen.refusals);
    };
    const settle = async (count: number, timeoutMs: number) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        checkRefusals();
        const { rows } = await p.query<{ n: number }>(`SELECT count(*)::int AS n FROM runner_jobs WHERE ${TERMINAL}`);
        if (rows[0]!.n >= count || Date.now() > deadline) return rows[0]!.n;
        // The count reads the whole table: polled often only near the end, so that the bench's
        // own reads cost PostgreSQL little (figures take their end time from the events).
        await new Promise((r) => setTimeout(r, Math.min(1_000, Math.max(50, (count - rows[0]!.n) / 10))));
      }
    };

    return {
      pool,
      ns,
      workspaceIds,
      scheduler,
      workers,
      api,
      async submit(jobs, { workspaceHeader = true } = {}) {
        // Batched submit commands: up to SUBMIT_BATCH jobs of one workspace per message.
        const ids = jobs.map((j) => j.id ?? randomUUID());
        const submittedAt = new Array<number>(jobs.length).fill(0);
        const sends: Promise<unknown>[] = [];
        for (let start = 0; start < jobs.length; ) {
          const workspaceId = jobs[start]!.workspaceId;
          let end = start;
          while (end < jobs.length && end - start < SUBMIT_BATCH && jobs[end]!.workspaceId === workspaceId) end++;
          const command: SubmitCommand = {
            v: 1,
            kind: 'submit',
            id: randomUUID(),
            workspaceId,
            jobs: jobs.slice(start, end).map((j, i) => ({ jobId: ids[start + i]!, job: parseWith(JobSpec, j.spec) })),
          };
          const now = Date.now();
          submittedAt.fill(now, start, end);
          const headers = { [Headers.token]: tokens.get(workspaceId)!, ...(workspaceHeader ? { [Headers.workspace]: workspaceId } : {}) };
          sends.push(pub.publish(names.subjects.command('submit'), JSON.stringify(command), { msgId: command.id, headers }));
          start = end;
        }
        await Promise.all(sends);
        return ids.map((id, i) => ({ id, submittedAt: submittedAt[i]! }));
      },
      async submitHttp(workspaceId, specs) {
        if (apiBase === undefined) throw new Error('submitHttp needs a cluster started with api');
        const submittedAt = Date.now();
        const res = await fetch(`${apiBase}/runner-jobs/batch`, {
          method: 'POST',
          headers: { authorization: `Bearer ${tokens.get(workspaceId)!}`, 'content-type': 'application/json' },
          body: JSON.stringify({ jobs: specs }),
        });
        if (res.status !== 202) throw new Error(`POST /runner-jobs/batch answered ${res.status}: ${await res.text()}`);
        const { jobs: accepted } = (await res.json()) as { jobs: { id: string }[] };
        return accepted.map((j) => ({ id: j.id, submittedAt }));
      },
      async waitForTerminal(count, timeoutMs) {
        const n = await settle(count, timeoutMs);
        if (n < count) throw new Error(`only ${n} of ${count} jobs finished within ${timeoutMs} ms`);
        return Date.now();
      },
      settle,
      checkRefusals,
      startWorker: spawnWorker,
      async timings() {
        const { rows } = await p.query<{ job_id: string; started: Date | null; first_started: Date | null; worker: string | null; ended: Date | null; terminals: number }>(
          `SELECT job_id,
             max(created_at) FILTER (WHERE type = 'job.started') AS started,
             min(created_at) FILTER (WHERE type = 'job.started') AS first_started,
             (array_agg(payload->>'workerId' ORDER BY sequence DESC) FILTER (WHERE type = 'job.started'))[1] AS worker,
             max(created_at) FILTER (WHERE type IN ('job.completed', 'job.failed', 'job.cancelled')) AS ended,
             count(*) FILTER (WHERE type IN ('job.completed', 'job.failed', 'job.cancelled'))::int AS terminals
           FROM job_events GROUP BY job_id`,
        );
        // Each terminal message is published just after its commit: give the last ones time to arrive.
        const committed = rows.filter((r) => r.ended !== null).length;
        for (const deadline = Date.now() + END_GRACE_MS; seen.terminalSeen < committed && Date.now() < deadline; ) {
          await new Promise((r) => setTimeout(r, 20));
        }
        return new Map(
          rows.map((r) => {
            const observed = r.ended === null ? undefined : seen.terminalSeenAt(r.job_id);
            const startSeen = r.first_started === null ? undefined : seen.startSeenAt(r.job_id);
            return [
              r.job_id,
              {
                startedAt: r.started?.getTime() ?? null,
                startSeenAt: startSeen ?? r.first_started?.getTime() ?? null,
                startObserved: startSeen !== undefined,
                workerId: r.worker,
                endedAt: observed ?? r.ended?.getTime() ?? null,
                endObserved: observed !== undefined,
                terminalEvents: r.terminals,
              },
            ];
          }),
        );
      },
      async stages() {
        const { rows } = await p.query<{ job_id: string; queued: Date; dispatched: Date; started: Date; ended: Date }>(
          `SELECT e.job_id, j.dispatched_at AS dispatched,
             max(e.created_at) FILTER (WHERE e.type = 'job.queued') AS queued,
             max(e.created_at) FILTER (WHERE e.type = 'job.started') AS started,
             max(e.created_at) FILTER (WHERE e.type IN ('job.completed', 'job.failed', 'job.cancelled')) AS ended
           FROM job_events e JOIN runner_jobs j ON j.id = e.job_id GROUP BY e.job_id, j.dispatched_at`,
        );
        return new Map(
          rows
            .filter((r) => r.queued && r.dispatched && r.started && r.ended)
            .map((r) => [
              r.job_id,
              { queuedAt: r.queued.getTime(), dispatchedAt: r.dispatched.getTime(), startedAt: r.started.getTime(), endedAt: r.ended.getTime() },
            ]),
        );
      },
      async stopServices() {
        await Promise.all(processes.map((s) => s.stop('SIGTERM')));
        for (let i = 0; ; i++) {
          const { rows } = await p.query<{ n: number }>(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND backend_type = 'client backend' AND application_name <> 'bench'`,
          );
          if (rows[0]!.n === 0) return;
          if (i >= 500) throw new Error(`${rows[0]!.n} service sessions still open 10 s after their processes stopped`);
          await new Promise((r) => setTimeout(r, 20));
        }
      },
      stop: teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}

/** The standard job: SETUP, EXECUTION and CLEANUP no-op steps (10 events when it completes). */
export function standardJob(overrides: Partial<JobSpecInput> = {}, executionSleepMs = 0): JobSpecInput {
  return {
    type: 'bench',
    steps: [
      { name: 'setup', phase: 'SETUP', type: 'NOOP' },
      { name: 'execute', phase: 'EXECUTION', type: 'NOOP', spec: executionSleepMs > 0 ? { sleepMs: executionSleepMs } : {} },
      { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' },
    ],
    ...overrides,
  };
}

/** `ms` to hundredths, for figures of a few milliseconds. */
export function roundMs(ms: number): number {
  return Number(ms.toFixed(2));
}

/** p-th percentile (0–100) of `values`, nearest rank; NaN (printed as null) when there are none. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = Float64Array.from(values).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
