/**
 * What every service's `main` does before its own components: parse the configuration, make
 * the logger and metrics, connect to NATS. Connections become components, so `runService`
 * closes them after everything that uses them has stopped.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { type BaseConfig, type BaseEnv, type Config, type EnvShape, loadConfig } from './config.js';
import { type Component, DEFAULT_STOP_TIMEOUT_MS, StopTimeoutError } from './lifecycle.js';
import { createLogger, loggableConfig, type Logger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { connectNats } from './nats.js';

/**
 * A component that only closes something (a connection, a pool) when the service stops. Its stop
 * keeps the stop's deadline like any component's: a pool's `end()` waits for every client
 * checked out, and one held by work that did not stop in time would otherwise hold the service
 * past its shutdown timeout, and past the exit that follows an unclean stop.
 */
export function closing(name: string, close: () => Promise<unknown>): Component {
  let closed: Promise<void> | undefined;
  return {
    name,
    start: async () => {},
    stop: async (opts) => {
      closed ??= close().then(() => undefined);
      const timeoutMs = opts?.timeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new StopTimeoutError(name, timeoutMs)), timeoutMs);
      });
      try {
        await Promise.race([closed, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

export interface ServiceBase<S extends EnvShape> {
  readonly config: Config<Omit<BaseEnv, keyof S> & S>;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly nc: NatsConnection;
  /** Drains the NATS connection; put it first in the component list so it closes last. */
  readonly natsComponent: Component;
}

/** Parses config (throws a ConfigError naming every bad variable), logs it redacted, connects NATS. */
export async function serviceBase<S extends EnvShape>(
  service: string,
  version: string,
  shape: S,
): Promise<ServiceBase<S>> {
  const config = loadConfig(shape);
  // A service may narrow a base variable's schema but never drops it.
  const base = config as unknown as BaseConfig;
  const logger = createLogger({ service, version, level: base.logLevel });
  logger.info({ config: loggableConfig(config) }, 'starting');
  const metrics = createMetrics({ service, version });
  const nc = await connectNats(base, { name: `gantry-${service}`, logger });
  return { config, logger, metrics, nc, natsComponent: closing('nats', () => nc.drain()) };
}
