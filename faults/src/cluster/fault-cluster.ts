/**
 * A Gantry cluster on servers of the test's own: a private PostgreSQL and a private nats-server
 * (so the test may kill and restart them), one workspace with a token, and real scheduler,
 * worker and API processes pointed at them. Jobs are submitted through the API, exactly as a
 * client would; a job is accepted when the API answered 202 with its id (its row committed).
 *
 * The timing settings are short (a worker is lost after 3 s, a leader's lease is 3 s, the
 * reconciler runs twice a second) so that a fault is detected and repaired within seconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobSpecInput } from '@gantry/contracts';
import { createPool, mintToken, type Pool } from '@gantry/store';
import {
  startPrivateNats,
  startPrivatePostgres,
  startService,
  type PrivateNats,
  type PrivateNatsOptions,
  type PrivatePostgres,
  type ServiceProcess,
} from '@gantry/testkit';
import { stopProcess, waitUntil } from './processes.js';

/** The scheduler settings of every fault cluster (the scheduler's environment variables). */
export const FAULT_SCHEDULER_ENV: Readonly<Record<string, string>> = {
  WORKER_LOST_MS: '3000',
  SCHEDULER_LEASE_MS: '3000',
  SCHEDULER_RENEW_MS: '1000',
  RECONCILE_INTERVAL_MS: '500',
  PENDING_GRACE_MS: '2000',
  UNCLAIMED_REDISPATCH_MS: '5000',
  TIMEOUT_GRACE_MS: '5000',
};

/** Options of {@link startFaultCluster}. */
export interface FaultClusterOptions {
  readonly workers: number;
  /** Slots per worker. */
  readonly concurrency: number;
  /** Scheduler processes (one leader, the rest hot standbys); default 1. */
  readonly schedulers?: number;
  readonly nats?: PrivateNatsOptions;
  readonly schedulerEnv?: Record<string, string>;
  readonly workerEnv?: Record<string, string>;
}

/** A running fault cluster. Worker ids are w0, w1, … in start order; schedulers s0, s1, …. */
export interface FaultCluster {
  readonly postgres: PrivatePostgres;
  readonly nats: PrivateNats;
  /** A pool on the cluster's database, for the test's own queries. */
  readonly pool: Pool;
  readonly workspaceId: string;
  readonly schedulers: ServiceProcess[];
  readonly workers: ServiceProcess[];
  /** The current API process (replaced by {@link restartApi}). */
  readonly api: ServiceProcess;
  /** Starts one more worker process and resolves when it has started. */
  startWorker(): Promise<ServiceProcess>;
  /** Starts a new API process (after the old one was killed) and resolves when it listens. */
  restartApi(): Promise<ServiceProcess>;
  /** Submits `count` jobs of `spec` through `POST /runner-jobs/batch`; resolves with the accepted ids. */
  submit(count: number, spec: JobSpecInput): Promise<string[]>;
  /** Resolves when every job of `ids` is in a terminal status; rejects after `timeoutMs`. */
  waitForTerminal(ids: readonly string[], timeoutMs: number): Promise<void>;
  /** Stops every process (SIGCONT first, then SIGTERM, SIGKILL if it hangs) and removes both servers. */
  stop(): Promise<void>;
}

const BATCH = 250;

/** Starts the servers, migrates, makes a workspace and token, and starts the service processes. */
export async function startFaultCluster(opts: FaultClusterOptions): Promise<FaultCluster> {
  const processes: ServiceProcess[] = [];
  let postgres: PrivatePostgres | undefined;
  let nats: PrivateNats | undefined;
  let pool: Pool | undefined;
  const workDir = await mkdtemp(join(tmpdir(), 'gantry-faults-work-'));
  const teardown = async () => {
    await Promise.all(processes.map((p) => stopProcess(p)));
    await pool?.end().catch(() => undefined);
    await nats?.cleanup().catch(() => undefined);
    await postgres?.cleanup().catch(() => undefined);
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    [postgres, nats] = await Promise.all([startPrivatePostgres(), startPrivateNats(opts.nats)]);
    pool = createPool(postgres.url, { max: 4, applicationName: 'faults' });
    const { rows } = await pool.query<{ id: string }>(`INSERT INTO workspaces (name) VALUES ('faults') RETURNING id`);
    const workspaceId = rows[0]!.id;
    const minted = mintToken();
    await pool.query(`INSERT INTO api_tokens (workspace_id, name, token_hash, prefix, scopes) VALUES ($1, 'faults', $2, $3, $4)`, [
      workspaceId,
      minted.hash,
      minted.prefix,
      ['jobs:admin'],
    ]);
    const base = {
      DATABASE_URL: postgres.url,
      NATS_URL: nats.url,
      GANTRY_NAMESPACE: 'faults',
      HTTP_HOST: '127.0.0.1',
      METRICS_PORT: '0',
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '5000',
    };
    const spawn = (service: string, env: Record<string, string>) => {
      const p = startService(service, { ...base, ...env });
      processes.push(p);
      return p;
    };
    const started = (p: ServiceProcess) => p.waitForLog((l) => l.msg === 'service started', 90_000).then(() => p);
    const schedulers: ServiceProcess[] = [];
    for (let i = 0; i < (opts.schedulers ?? 1); i++) {
      schedulers.push(spawn('scheduler', { ...FAULT_SCHEDULER_ENV, ...opts.schedulerEnv }));
    }
    // The first scheduler provisions the streams before anything else connects.
    await started(schedulers[0]!);
    const workers: ServiceProcess[] = [];
    const startWorker = async () => {
      const p = spawn('worker', {
        WORKER_ID: `w${workers.length}`,
        WORKER_CONCURRENCY: String(opts.concurrency),
        WORKER_WORK_DIR: workDir,
        WORKER_DRAIN_GRACE_MS: '2000',
        ...opts.workerEnv,
      });
      workers.push(p);
      return started(p);
    };
    let apiUrl = '';
    const startApi = async () => {
      const p = spawn('api', { PORT: '0', RATE_LIMIT_PER_SECOND: '0' });
      const listening = await p.waitForLog((l) => l.msg === 'api listening', 90_000);
      apiUrl = `http://127.0.0.1:${String(listening.port)}`;
      return started(p);
    };
    let api: ServiceProcess;
    [api] = await Promise.all([startApi(), ...schedulers.slice(1).map(started), ...Array.from({ length: opts.workers }, startWorker)]);
    const p = pool;

    return {
      postgres,
      nats,
      pool,
      workspaceId,
      schedulers,
      workers,
      get api() {
        return api;
      },
      startWorker,
      async restartApi() {
        api = await startApi();
        return api;
      },
      async submit(count, spec) {
        const ids: string[] = [];
        for (let done = 0; done < count; done += BATCH) {
          const jobs = Array.from({ length: Math.min(BATCH, count - done) }, () => spec);
          const res = await fetch(`${apiUrl}/runner-jobs/batch`, {
            method: 'POST',
            headers: { authorization: `Bearer ${minted.token}`, 'content-type': 'application/json' },
            body: JSON.stringify({ jobs }),
          });
          const body = (await res.json()) as { jobs?: { id: string }[] };
          if (res.status !== 202 || !body.jobs) throw new Error(`batch submit answered ${res.status}: ${JSON.stringify(body)}`);
          ids.push(...body.jobs.map((j) => j.id));
        }
        return ids;
      },
      async waitForTerminal(ids, timeoutMs) {
        await waitUntil(
          async () => {
            const { rows: left } = await p.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM runner_jobs WHERE id = ANY($1::uuid[]) AND status IN ('COMPLETED', 'FAILED', 'CANCELLED')`,
              [ids],
            );
            return left[0]!.n === ids.length;
          },
          `${ids.length} jobs did not all end`,
          timeoutMs,
        );
      },
      stop: teardown,
    };
  } catch (err) {
    await teardown();
    throw err;
  }
}
