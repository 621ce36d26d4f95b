/**
 * Test support (never imported by the worker itself): one integration test file's world —
 * its own database and NATS namespace (provisioned), a workspace, workers built in-process
 * with `createWorker`, and helpers that play the scheduler's part: insert QUEUED jobs with the
 * testkit factories and publish their Dispatch messages.
 *
 * Everything opened here is closed in the file's `afterAll`, so the leak check holds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jetstream } from '@nats-io/jetstream';
import type { Subscription } from '@nats-io/transport-node';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { dispatchConsumer, dispatchMsgId, type EventBatch, type JobEvent, type JobSpec, type JobSpecInput } from '@gantry/contracts';
import { createLogger, createMetrics, loadConfig, type Metrics } from '@gantry/runtime';
import { createPool, type Pool } from '@gantry/store';
import { createJobs, createTestNamespace, createWorkspace, jobSpec, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { WORKER_ENV } from '../config.js';
import type { AttemptOutcome } from '../engine/types.js';
import { workerSettings, type WorkerSettings } from '../settings.js';
import type { AiProviderFactory } from '../steps/ai/provider.js';
import type { StepHandler } from '../steps/types.js';
import { createWorker, type Worker } from '../worker.js';

/** A job row as tests read it. */
export interface JobRow {
  status: string;
  attempt: number;
  failures: number;
  progress: number;
  worker_id: string | null;
  dispatched_at: Date | null;
  run_at: Date | null;
  queued_at: Date | null;
  deadline_at: Date | null;
  started_at: Date | null;
  completed_at: Date | null;
  error: { code: string; message: string; stepId?: string; retryable?: boolean } | null;
  result: unknown;
  now: Date;
}

/** A step row as tests read it. */
export interface StepRow {
  id: string;
  name: string;
  phase: string;
  status: string;
  attempt: number;
  exit_code: number | null;
  output_tail: string | null;
  output: unknown;
  error: { code: string; message: string } | null;
  input_tokens: number;
  output_tokens: number;
}

/** Options of a test worker. */
export interface TestWorkerOptions {
  readonly settings?: Partial<WorkerSettings>;
  readonly stepTypes?: readonly StepHandler<unknown>[];
  readonly aiProvider?: AiProviderFactory;
}

/** What {@link useWorkerHarness} gives a test file. */
export interface Harness {
  /** The URL of the file's database (for worker processes). */
  readonly dbUrl: string;
  readonly pool: Pool;
  readonly ns: TestNamespace;
  readonly workspaceId: string;
  readonly workRoot: string;
  /** Default settings of test workers (fast output flushes, progress events at every step). */
  settings(overrides?: Partial<WorkerSettings>): WorkerSettings;
  /** Builds and starts a worker; it is stopped after the test if the test did not stop it. */
  startWorker(opts?: TestWorkerOptions): Promise<{ worker: Worker; metrics: Metrics }>;
  /** Inserts a QUEUED job of `spec` (the testkit default with `overrides`). */
  createJob(overrides?: Partial<JobSpecInput>): Promise<{ id: string; stepIds: string[] }>;
  /** Publishes the Dispatch of `jobId`'s `attempt` (`msgId` defaults to `<jobId>:<attempt>`). */
  dispatch(jobId: string, attempt: number, msgId?: string): Promise<void>;
  /** Dispatches attempt `attempt` of `jobId` to `worker` and waits for the attempt to end. */
  run(worker: Worker, jobId: string, attempt?: number): Promise<AttemptOutcome>;
  /** Resolves once the published stdout of `jobId` (all its chunks so far, in order) satisfies `match`. */
  stdout(jobId: string, match: (text: string) => boolean, timeoutMs?: number): Promise<string>;
  job(id: string): Promise<JobRow>;
  steps(id: string): Promise<StepRow[]>;
  events(id: string): Promise<JobEvent[]>;
  /** EventBatch messages published for `jobId` so far: one per commit that carried its events. */
  batches(jobId: string): number;
  /** Resolves with the first published event of `jobId` that `match` accepts (the events stream's subject, core NATS). */
  published(jobId: string, match: (e: JobEvent) => boolean, timeoutMs?: number): Promise<JobEvent>;
  /**
   * The default pool's dispatch consumer once the acks sent so far have landed (within 5 s): an
   * ack or a termination is a publish the server applies after the worker has moved on.
   */
  settledDispatch(): Promise<{ pending: number; ackPending: number; redelivered: number }>;
}

/** Registers the hooks of an integration test file and returns its harness. */
export function useWorkerHarness(): Harness {
  const db = useTestDatabase();
  let pool!: Pool;
  let ns!: TestNamespace;
  let workspaceId!: string;
  let workRoot!: string;
  let sub: Subscription | undefined;
  const workers: Worker[] = [];
  const seen = new Map<string, JobEvent[]>();
  const batchCount = new Map<string, number>();
  const waiters = new Set<{ jobId: string; match: (e: JobEvent) => boolean; resolve: (e: JobEvent) => void }>();
  const logger = createLogger({ service: 'worker-test', version: '0.0.0', level: 'silent' });

  beforeAll(async () => {
    pool = createPool(db.url, { max: 6, applicationName: 'worker-test' });
    ns = await createTestNamespace({ provision: true });
    workspaceId = await createWorkspace(pool);
    workRoot = await mkdtemp(join(tmpdir(), 'gantry-worker-test-'));
    sub = ns.nc.subscribe(ns.names.subjects.eventsAll, {
      callback: (_err, msg) => {
        const batch = msg.json<EventBatch>();
        batchCount.set(batch.jobId, (batchCount.get(batch.jobId) ?? 0) + 1);
        const list = seen.get(batch.jobId) ?? [];
        list.push(...batch.events);
        seen.set(batch.jobId, list);
        for (const w of [...waiters]) {
          const hit = batch.events.find((e) => e.jobId === w.jobId && w.match(e));
          if (hit) {
            waiters.delete(w);
            w.resolve(hit);
          }
        }
      },
    });
    await ns.nc.flush();
  });

  // Workers of one test share the pool's durable consumer with those of the next: stop them.
  afterEach(async () => {
    await Promise.allSettled(workers.splice(0).map((w) => w.stop({ timeoutMs: 10_000 })));
  });

  afterAll(async () => {
    await Promise.allSettled(workers.splice(0).map((w) => w.stop({ timeoutMs: 10_000 })));
    sub?.unsubscribe();
    await pool?.end();
    await ns?.cleanup();
    if (workRoot) await rm(workRoot, { recursive: true, force: true });
  });

  const settings = (overrides: Partial<WorkerSettings> = {}): WorkerSettings => ({
    ...workerSettings(loadConfig(WORKER_ENV, {})),
    concurrency: 4,
    workDir: workRoot,
    killGraceMs: 2_000,
    drainGraceMs: 5_000,
    progressIntervalMs: 0,
    outputFlushMs: 50,
    ...overrides,
  });

  const harness: Harness = {
    get dbUrl() {
      return db.url;
    },
    get pool() {
      return pool;
    },
    get ns() {
      return ns;
    },
    get workspaceId() {
      return workspaceId;
    },
    get workRoot() {
      return workRoot;
    },
    settings,
    async startWorker(opts = {}) {
      const metrics = createMetrics({ service: 'worker', version: '0.0.0', defaultMetrics: false });
      const worker = createWorker({
        settings: settings(opts.settings),
        nc: ns.nc,
        pool,
        names: ns.names,
        logger,
        metrics,
        version: '0.0.0',
        ...(opts.stepTypes ? { stepTypes: opts.stepTypes } : {}),
        ...(opts.aiProvider ? { aiProvider: opts.aiProvider } : {}),
      });
      workers.push(worker);
      await worker.start();
      return { worker, metrics };
    },
    async createJob(overrides = {}) {
      const spec: JobSpec = jobSpec(overrides);
      const [job] = await createJobs(pool, workspaceId, 1, { spec });
      return { id: job!.id, stepIds: job!.stepIds };
    },
    async dispatch(jobId, attempt, msgId = dispatchMsgId(jobId, attempt)) {
      const body = { v: 1, jobId, workspaceId, attempt, term: 1, dispatchedAt: new Date().toISOString() };
      await pool.query('UPDATE runner_jobs SET dispatched_at = now() WHERE id = $1 AND status = $2', [jobId, 'QUEUED']);
      await jetstream(ns.nc).publish(ns.names.subjects.dispatch('default'), JSON.stringify(body), { msgID: msgId });
    },
    async run(worker, jobId, attempt = 1) {
      const ended = worker.signals.next('attemptEnded', (e) => e.jobId === jobId && e.attempt === attempt);
      await harness.dispatch(jobId, attempt);
      return (await ended).outcome;
    },
    async stdout(jobId, match, timeoutMs) {
      let text = '';
      await harness.published(
        jobId,
        (e) => {
          if (e.type !== 'step.output' || e.payload.stream !== 'stdout') return false;
          text += e.payload.chunk;
          return match(text);
        },
        timeoutMs,
      );
      return text;
    },
    async job(id) {
      const { rows } = await pool.query<JobRow>('SELECT *, now() AS now FROM runner_jobs WHERE id = $1', [id]);
      return rows[0]!;
    },
    async steps(id) {
      const { rows } = await pool.query<StepRow>('SELECT * FROM job_steps WHERE job_id = $1 ORDER BY ordinal', [id]);
      return rows;
    },
    async events(id) {
      const { rows } = await pool.query<{ sequence: number; type: string; attempt: number; step_id: string | null; payload: unknown; actor: string }>(
        'SELECT sequence, type, attempt, step_id, payload, actor FROM job_events WHERE job_id = $1 ORDER BY sequence',
        [id],
      );
      return rows.map((r) => ({ ...r, stepId: r.step_id }) as unknown as JobEvent);
    },
    batches(jobId) {
      return batchCount.get(jobId) ?? 0;
    },
    async settledDispatch() {
      const c = dispatchConsumer(ns.names, 'default');
      const read = async () => {
        const info = await ns.jsm.consumers.info(c.stream, c.durableName);
        return { pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered };
      };
      const deadline = Date.now() + 5_000;
      let state = await read();
      while (state.ackPending > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
        state = await read();
      }
      return state;
    },
    published(jobId, match, timeoutMs = 20_000) {
      const hit = seen.get(jobId)?.find(match);
      if (hit) return Promise.resolve(hit);
      return new Promise((resolve, reject) => {
        const waiter = {
          jobId,
          match,
          resolve: (e: JobEvent) => {
            clearTimeout(timer);
            resolve(e);
          },
        };
        const timer = setTimeout(() => {
          waiters.delete(waiter);
          reject(new Error(`no matching event of job ${jobId} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.add(waiter);
      });
    },
  };
  return harness;
}

/** The event types of `events`, in order. */
export function typesOf(events: readonly JobEvent[]): string[] {
  return events.map((e) => e.type);
}
