/**
 * The NATS connection of a service: reconnects forever with a fixed wait, authenticates and
 * encrypts as configured, logs status changes (disconnect, reconnect, server errors) through
 * the service logger, and is registered with `trackResource` until it closes, whichever way it
 * closes (`close()`, `drain()` or a fatal error).
 */
import { readFile } from 'node:fs/promises';
import {
  connect,
  credsAuthenticator,
  nkeyAuthenticator,
  tokenAuthenticator,
  usernamePasswordAuthenticator,
  type Authenticator,
  type NatsConnection,
  type NodeConnectionOptions,
  type Status,
} from '@nats-io/transport-node';
import type { BaseConfig } from './config.js';
import type { ReadinessCheck } from './health.js';
import type { Logger } from './logger.js';
import { redactUrl } from './logger.js';
import { trackResource } from './resources.js';

/** The part of the configuration a NATS connection reads. */
export type NatsConfig = Pick<
  BaseConfig,
  | 'natsUrl'
  | 'natsUser'
  | 'natsPassword'
  | 'natsToken'
  | 'natsCredsFile'
  | 'natsNkeySeedFile'
  | 'natsTlsCaFile'
  | 'natsTlsCertFile'
  | 'natsTlsKeyFile'
>;

/** Options of {@link connectNats}. */
export interface ConnectNatsOptions {
  /** The client name the server shows in its monitoring, e.g. `gantry-worker-<id>`. */
  readonly name: string;
  readonly logger: Logger;
  /** Wait between reconnect attempts; default {@link DEFAULT_RECONNECT_WAIT_MS}. */
  readonly reconnectWaitMs?: number;
  /** Time allowed for the first connection; default {@link DEFAULT_CONNECT_TIMEOUT_MS}. */
  readonly connectTimeoutMs?: number;
}

/** Wait between reconnect attempts (the client adds up to 100 ms of jitter). */
export const DEFAULT_RECONNECT_WAIT_MS = 2_000;
/** Time allowed for the first connection before `connectNats` rejects. */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;
/** Interval of client pings; a connection that misses {@link MAX_PINGS_OUT} is stale. */
export const PING_INTERVAL_MS = 20_000;
/** Unanswered pings after which the client treats the connection as stale and reconnects. */
export const MAX_PINGS_OUT = 3;

async function readSecretFile(variable: string, path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    throw new Error(`${variable} ${path} cannot be read: ${(err as Error).message}`, { cause: err });
  }
}

async function authenticator(config: NatsConfig): Promise<Authenticator | undefined> {
  if (config.natsCredsFile) {
    return credsAuthenticator(await readSecretFile('NATS_CREDS_FILE', config.natsCredsFile));
  }
  if (config.natsNkeySeedFile) {
    const seed = new TextDecoder().decode(await readSecretFile('NATS_NKEY_SEED_FILE', config.natsNkeySeedFile));
    return nkeyAuthenticator(new TextEncoder().encode(seed.trim()));
  }
  if (config.natsToken) return tokenAuthenticator(config.natsToken);
  if (config.natsUser) return usernamePasswordAuthenticator(config.natsUser, config.natsPassword ?? '');
  return undefined;
}

/**
 * TLS when a TLS file is configured or any server URL is `tls://`. The client reads no scheme:
 * without this option it would connect in plaintext to a `tls://` server that offers none (or
 * through anything that strips TLS from the server's INFO), credentials and all.
 */
function tlsOptions(config: NatsConfig): NodeConnectionOptions['tls'] {
  const { natsTlsCaFile: caFile, natsTlsCertFile: certFile, natsTlsKeyFile: keyFile } = config;
  const files = caFile || certFile || keyFile ? { caFile, certFile, keyFile } : undefined;
  if (files) return files;
  return config.natsUrl.some((url) => /^tls:\/\//i.test(url)) ? {} : undefined;
}

/** The connection options {@link connectNats} uses, without reading any file. Exported for tests. */
export function natsConnectionOptions(
  config: NatsConfig,
  opts: Omit<ConnectNatsOptions, 'logger'>,
): NodeConnectionOptions {
  return {
    servers: [...config.natsUrl],
    name: opts.name,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectWaitMs ?? DEFAULT_RECONNECT_WAIT_MS,
    timeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
    pingInterval: PING_INTERVAL_MS,
    maxPingOut: MAX_PINGS_OUT,
    tls: tlsOptions(config),
    // The client otherwise builds an Error (a captured stack) up front for every request and
    // every JetStream publish, in case it fails: on the throughput benchmark that was ~7% of a
    // scheduler's CPU. Failures still carry their message and cause.
    noAsyncTraces: true,
  };
}

function logStatus(logger: Logger, status: Status): void {
  switch (status.type) {
    case 'disconnect':
      return logger.warn({ server: status.server }, 'nats disconnected');
    case 'reconnect':
      return logger.info({ server: status.server }, 'nats reconnected');
    case 'reconnecting':
      return logger.debug('nats reconnecting');
    case 'error':
      return logger.error({ err: status.error }, 'nats server error');
    case 'ldm':
      return logger.warn({ server: status.server }, 'nats server entering lame duck mode');
    case 'staleConnection':
      return logger.warn('nats connection stale');
    case 'slowConsumer':
      return logger.warn({ subject: status.sub.getSubject(), pending: status.pending }, 'nats slow consumer');
    case 'update':
      return logger.debug({ added: status.added, deleted: status.deleted }, 'nats cluster changed');
    default:
      return undefined;
  }
}

async function watchStatus(nc: NatsConnection, logger: Logger): Promise<void> {
  for await (const status of nc.status()) logStatus(logger, status);
}

/**
 * Connects to NATS as configured. Rejects if the first connection fails; afterwards the
 * connection reconnects forever. The connection is tracked as an open resource until closed.
 */
export async function connectNats(config: NatsConfig, opts: ConnectNatsOptions): Promise<NatsConnection> {
  const logger = opts.logger.child({ component: 'nats', connection: opts.name });
  const nc = await connect({ ...natsConnectionOptions(config, opts), authenticator: await authenticator(config) });
  const release = trackResource('nats', `${opts.name} ${nc.getServer()}`);
  watchStatus(nc, logger).catch((err: unknown) => logger.error({ err }, 'nats status watch ended'));
  void nc.closed().then((err) => {
    release();
    if (err) logger.error({ err }, 'nats connection closed on error');
    else logger.debug('nats connection closed');
  });
  logger.info({ servers: config.natsUrl.map(redactUrl), server: nc.getServer() }, 'nats connected');
  return nc;
}

/** A readiness check that passes while `nc` is open and answers a round trip. */
export function natsReadinessCheck(nc: NatsConnection, timeoutMs?: number): ReadinessCheck {
  return {
    name: 'nats',
    timeoutMs,
    check: async () => {
      if (nc.isClosed()) throw new Error('nats connection is closed');
      await nc.rtt();
    },
  };
}
