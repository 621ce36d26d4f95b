/**
 * The scheduler process: provisions the namespace's streams and consumers (idempotently), then
 * serves health and metrics until SIGTERM.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { names } from '@gantry/contracts';
import { closing, createHealthServer, natsReadinessCheck, provision, runService, serviceBase } from '@gantry/runtime';
import { createPool, postgresReadinessCheck } from '@gantry/store';
import pkg from '../package.json' with { type: 'json' };
import { SCHEDULER_ENV } from './config.js';

const { config, logger, metrics, nc, natsComponent } = await serviceBase('scheduler', pkg.version, SCHEDULER_ENV);
const pool = createPool(config.databaseUrl, { max: config.dbPoolSize, applicationName: 'gantry-scheduler' });
await provision(await jetstreamManager(nc), names(config.gantryNamespace), { logger });

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
