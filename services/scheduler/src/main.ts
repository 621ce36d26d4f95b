/**
 * The scheduler process: provisions the namespace's streams and consumers (idempotently), then
 * runs the scheduler (leader election, commands, dispatch, duties) and serves health and metrics
 * until SIGTERM.
 */
import { jetstreamManager } from '@nats-io/jetstream';
import { names as namesOf } from '@gantry/contracts';
import { closing, createHealthServer, natsReadinessCheck, provision, runService, serviceBase, shutdownOptions } from '@gantry/runtime';
import { createPool, postgresReadinessCheck } from '@gantry/store';
import pkg from '../package.json' with { type: 'json' };
import { checkSigningKeys, SCHEDULER_ENV } from './config.js';
import { createScheduler } from './scheduler.js';

const { config, logger, metrics, nc, natsComponent } = await serviceBase('scheduler', pkg.version, SCHEDULER_ENV);
checkSigningKeys(config);
const names = namesOf(config.gantryNamespace);
const pool = createPool(config.databaseUrl, { max: config.dbPoolSize, applicationName: 'gantry-scheduler' });
await provision(await jetstreamManager(nc), names, { logger, replicas: config.natsStreamReplicas });

const scheduler = createScheduler({
  pool,
  nc,
  names,
  logger,
  metrics,
  settings: {
    leaseMs: config.schedulerLeaseMs,
    renewMs: config.schedulerRenewMs,
    dispatchIntervalMs: config.dispatchIntervalMs,
    dispatchBatch: config.dispatchBatch,
    agingSecondsPerPoint: config.agingSecondsPerPoint,
    expressPriority: config.dispatchExpressPriority,
    workspaceMaxRunning: config.workspaceMaxRunning,
    reconcileIntervalMs: config.reconcileIntervalMs,
    pendingGraceMs: config.pendingGraceMs,
    unclaimedRedispatchMs: config.unclaimedRedispatchMs,
    cancelResendMs: config.cancelResendMs,
    timeoutGraceMs: config.timeoutGraceMs,
    workerLostMs: config.workerLostMs,
    commandSigningKey: config.commandSigningKey,
    commandPreviousSigningKey: config.commandPreviousSigningKey,
  },
});
const health = createHealthServer({
  host: config.httpHost,
  port: config.metricsPort,
  checks: [natsReadinessCheck(nc), postgresReadinessCheck(pool)],
  metrics,
  logger,
});
await runService({
  logger,
  components: [natsComponent, closing('postgres', () => pool.end()), ...scheduler.components, health],
  ...shutdownOptions(config),
});
