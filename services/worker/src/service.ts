/**
 * The worker process: configuration from the environment, the NATS connection, the PostgreSQL
 * pool, the namespace's streams and this pool's dispatch consumer (provisioned idempotently, so
 * a worker may start before the scheduler), the health server and the worker, run until SIGTERM.
 *
 * A team that adds its own step types runs its own entry point calling
 * `runWorkerService({ stepTypes: [...] })` (see the README, "Adding a step type").
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { names } from '@gantry/contracts';
import { closing, createHealthServer, natsReadinessCheck, provision, runService, serviceBase, shutdownOptions } from '@gantry/runtime';
import { createPool, postgresReadinessCheck } from '@gantry/store';
import pkg from '../package.json' with { type: 'json' };
import { WORKER_ENV } from './config.js';
import { workerSettings } from './settings.js';
import type { AiProviderFactory } from './steps/ai/provider.js';
import type { StepHandler } from './steps/types.js';
import { createWorker } from './worker.js';

/** Options of {@link runWorkerService}. */
export interface WorkerServiceOptions {
  /** Step types to register beside the built-in ones. */
  readonly stepTypes?: readonly StepHandler<unknown>[];
  /** Replaces the OpenAI-compatible provider of AI_ACTION steps. */
  readonly aiProvider?: AiProviderFactory;
}

/** Runs a worker process until SIGTERM/SIGINT; resolves with the exit code (also set on the process). */
export async function runWorkerService(opts: WorkerServiceOptions = {}): Promise<number> {
  const { config, logger, metrics, nc, natsComponent } = await serviceBase('worker', pkg.version, WORKER_ENV);
  const settings = workerSettings(config);
  if (settings.stepUsers === undefined) {
    logger.warn(
      { uid: process.getuid?.() },
      'job processes run as the worker’s own user and can read its environment through /proc; run the worker as root with WORKER_STEP_USER to isolate them',
    );
  }
  const ns = names(config.gantryNamespace);
  const pool = createPool(config.databaseUrl, { max: config.dbPoolSize, applicationName: `gantry-worker`, queryTimeoutMs: config.workerQueryTimeoutMs });
  try {
    await provision(await jetstreamManager(nc), ns, { pools: [settings.pool], logger });
  } catch (err) {
    await pool.end();
    await nc.close();
    throw err;
  }
  const worker = createWorker({
    settings,
    nc,
    pool,
    names: ns,
    logger,
    metrics,
    version: pkg.version,
    stepTypes: opts.stepTypes ?? [],
    ...(opts.aiProvider ? { aiProvider: opts.aiProvider } : {}),
  });
  const health = createHealthServer({
    host: config.httpHost,
    port: config.metricsPort,
    checks: [natsReadinessCheck(nc), postgresReadinessCheck(pool)],
    metrics,
    logger,
  });
  return runService({
    logger,
    components: [natsComponent, closing('postgres', () => pool.end()), health, worker],
    ...shutdownOptions(config),
  });
}
