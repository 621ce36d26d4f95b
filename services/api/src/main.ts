/** The API process: serves health and metrics on PORT until SIGTERM. */
import { closing, createHealthServer, natsReadinessCheck, runService, serviceBase } from '@gantry/runtime';
import { createPool, postgresReadinessCheck } from '@gantry/store';
import pkg from '../package.json' with { type: 'json' };
import { API_ENV } from './config.js';

const { config, logger, metrics, nc, natsComponent } = await serviceBase('api', pkg.version, API_ENV);
const pool = createPool(config.databaseUrl, { max: config.dbPoolSize, applicationName: 'gantry-api' });
const health = createHealthServer({
  host: config.httpHost,
  port: config.port,
  checks: [natsReadinessCheck(nc), postgresReadinessCheck(pool)],
  metrics,
  logger,
});
await runService({
  logger,
  components: [natsComponent, closing('postgres', () => pool.end()), health],
  timeoutMs: config.shutdownTimeoutMs,
});
