/**
 * Test support: a real Gantry cluster for one integration test file — the file's database and
 * NATS namespace (provisioned), the API in-process on a free port, a scheduler and a worker as
 * real child processes — with a workspace and tokens made through the CLI itself, and a
 * `gantry(...)` that runs the CLI in-process against it and records what it printed.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestApi, type TestApi } from '@gantry/api/testing';
import { createPool, type Pool } from '@gantry/store';
import { afterAll, beforeAll } from 'vitest';
import { createTestNamespace, startService, type ServiceProcess, type TestNamespace, useTestDatabase } from '@gantry/testkit';
import { runCli } from './cli.js';
import { recordingIo } from './testing.js';

/** What one CLI run printed and answered. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string[];
  readonly stderr: string;
}

/** A running cluster and the CLI pointed at it. */
export interface TestCluster {
  readonly apiUrl: string;
  readonly pool: Pool;
  readonly ns: TestNamespace;
  readonly workspaceId: string;
  /** Tokens of the workspace: every scope, read only, read and write. */
  readonly tokens: { readonly admin: string; readonly reader: string; readonly writer: string };
  /** The environment the CLI runs with (GANTRY_URL, GANTRY_TOKEN = admin, DATABASE_URL, GANTRY_NAMESPACE). */
  readonly env: Readonly<Record<string, string>>;
  /** Runs `gantry argv…` in-process; `env` adds to (or, when undefined, removes from) the cluster's environment. */
  gantry(argv: readonly string[], env?: Record<string, string | undefined>): Promise<CliRun>;
  stop(): Promise<void>;
}

/** Polls `check` every 50 ms until it returns a value other than undefined/false; throws after `timeoutMs`. */
export async function waitFor<T>(check: () => Promise<T | undefined | false>, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Starts the cluster on database `dbUrl`; `workerEnv` adds to the worker's environment. */
export async function startTestCluster(dbUrl: string, workerEnv: Record<string, string> = {}): Promise<TestCluster> {
  const ns = await createTestNamespace({ provision: true });
  const pool = createPool(dbUrl, { max: 2, applicationName: 'cli-test' });
  const workDir = await mkdtemp(join(tmpdir(), 'gantry-cli-'));
  const processes: ServiceProcess[] = [];
  let api: TestApi | undefined;
  const stop = async () => {
    await api?.stop();
    await Promise.all(processes.map((p) => p.stop('SIGTERM')));
    await pool.end();
    await ns.cleanup();
    await rm(workDir, { recursive: true, force: true });
  };
  try {
    const base = { DATABASE_URL: dbUrl, GANTRY_NAMESPACE: ns.namespace, METRICS_PORT: '0', HTTP_HOST: '127.0.0.1', LOG_LEVEL: 'info' };
    const ready = (p: ServiceProcess) => p.waitForLog((l) => l.msg === 'service started', 60_000);
    // As in production: the API's retry and approve commands carry a grant, not the caller's token.
    const commandSigningKey = randomBytes(32).toString('hex');
    processes.push(startService('scheduler', { ...base, RECONCILE_INTERVAL_MS: '200', COMMAND_SIGNING_KEY: commandSigningKey }));
    processes.push(
      startService('worker', {
        ...base,
        WORKER_ID: 'cli-w1',
        WORKER_CONCURRENCY: '4',
        WORKER_WORK_DIR: workDir,
        WORKER_PROGRESS_INTERVAL_MS: '0',
        WORKER_OUTPUT_FLUSH_MS: '50',
        WORKER_KILL_GRACE_MS: '500',
        ...workerEnv,
      }),
    );
    api = await startTestApi({
      databaseUrl: dbUrl,
      namespace: ns.namespace,
      nc: ns.nc,
      settings: { dbPoolSize: 4, sseRetryMs: 500, sseMaxClients: 20, publishBacklog: 1_000, commandSigningKey },
    });
    const apiUrl = api.url;
    const env: Record<string, string> = { DATABASE_URL: dbUrl, GANTRY_NAMESPACE: ns.namespace, GANTRY_URL: apiUrl };
    const gantry = async (argv: readonly string[], extra: Record<string, string | undefined> = {}): Promise<CliRun> => {
      const io = recordingIo({ ...env, ...extra });
      const code = await runCli(argv, io);
      return { code, stdout: io.stdout, stderr: io.stderr.join('\n') };
    };
    const workspaceId = (await gantry(['workspace', 'create', 'cli'])).stdout[0]!;
    const token = async (scopes: string) => (await gantry(['token', 'create', '--workspace', 'cli', '--scopes', scopes])).stdout[0]!;
    const tokens = { admin: await token('jobs:read,jobs:write,jobs:admin'), reader: await token('jobs:read'), writer: await token('jobs:read,jobs:write') };
    env.GANTRY_TOKEN = tokens.admin;
    await Promise.all(processes.map(ready));
    return { apiUrl, pool, ns, workspaceId, tokens, env, gantry, stop };
  } catch (err) {
    await stop().catch(() => undefined);
    throw err;
  }
}

/**
 * The cluster of a test file, on a database of its own: started before the file's tests and
 * stopped after them. Read it only from inside a test or a hook.
 */
export function useTestCluster(): TestCluster {
  const db = useTestDatabase();
  let cluster: TestCluster | undefined;
  beforeAll(async () => {
    cluster = await startTestCluster(db.url);
  });
  afterAll(async () => {
    await cluster?.stop();
  });
  return new Proxy({} as TestCluster, {
    get(_, key) {
      if (!cluster) throw new Error('the test cluster is not started yet');
      return Reflect.get(cluster, key);
    },
  });
}
