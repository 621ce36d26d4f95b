/**
 * @gantry/runtime/internal — every building block of the runtime, including those the public
 * entry keeps back (option builders, pure mappings, the semaphore), for tests and tools.
 * Services import `@gantry/runtime`.
 */
export * from './index.js';
export { camelCase, type CamelCase } from './config.js';
export { natsConnectionOptions, DEFAULT_RECONNECT_WAIT_MS, DEFAULT_CONNECT_TIMEOUT_MS } from './nats.js';
export { toStreamConfig, toConsumerConfig, changedFields, ackWaitEqual } from './jetstream-config.js';
export { bucketStreamName } from './provision.js';
export { publishErrorReason, type PublishErrorReason, DEFAULT_PUBLISH_TIMEOUT_MS } from './publisher.js';
export { runCheck, runChecks } from './health.js';
export { Semaphore } from './semaphore.js';
