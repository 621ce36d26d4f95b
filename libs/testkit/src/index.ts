/** @gantry/testkit — helpers for Gantry's tests against the real PostgreSQL and NATS. */
export { adminUrl, createTemplate, createTestDatabase, databaseUrl, dropDatabase, dropTemplate, type TestDatabase } from './database.js';
export { started, useTestDatabase } from './use-database.js';
export * from './factories.js';
export * from './nats.js';
export * from './process.js';
export * from './service-smoke.js';
export { metricsBase, metricSum, metricSums } from './service-metrics.js';
export { sweepStaleTestResources, STALE_AFTER_MS } from './janitor.js';
export { freePort } from './ports.js';
export { startPrivatePostgres, type PrivatePostgres } from './private-postgres.js';
export { type PlanNode, planNodes, planOf } from './plans.js';
export { NATS_SERVER_BIN, natsServerVersion, natsSupportsSyncAlways, startPrivateNats, syncAlwaysNatsServer, TOOLS_NATS_SERVER_BIN, type PrivateNats, type PrivateNatsOptions } from './private-nats.js';
