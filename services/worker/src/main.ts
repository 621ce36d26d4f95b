/** The worker process: serves health and metrics until SIGTERM. */
import { closing, createHealthServer, natsReadinessCheck, runService, serviceBase } from '@gantry/runtime';
import { createPool, postgresReadinessCheck } from '@gantry/store';
import pkg from '../package.json' with { type: 'json' };
import { WORKER_ENV } from './config.js';

const { config, logger, metrics, nc, natsComponent } = await serviceBase('worker', pkg.version, WORKER_ENV);
const pool = createPool(config.databaseUrl, { max: config.dbPoolSize, applicationName: 'gantry-worker' });
const health = createHealthServer({
  host: config.httpHost,
  port: config.metricsPort,
  checks: [natsReadinessCheck(nc), postgresReadinessCheck(pool)],
  metrics,
  logger,
});
await runService({
  logger,
  components: [natsComponent, closing('postgres', () => pool.end()), health],
  timeoutMs: config.shutdownTimeoutMs,
});
