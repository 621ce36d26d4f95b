/**
 * The API server as one lifecycle component: on `start()` it opens its PostgreSQL pool, its job
 * writer, its publisher and its heartbeat view, builds the app and listens; `stop()` closes them
 * in reverse order — no new requests, event streams ended (their consumers deleted), writes
 * flushed, publishes settled, pool ended. The NATS connection belongs to the caller.
 */
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/transport-node';
import { names as namesOf } from '@gantry/contracts';
import {
  createEventFanout,
  createPublisher,
  listeningComponent,
  type ListeningComponent,
  withViews,
  type Logger,
  type Metrics,
  type Publisher,
  writeFlushRecorder,
} from '@gantry/runtime';
import { createPool, JobWriter, type Pool } from '@gantry/store';
import { createAnnouncer } from './announcer.js';
import { buildApp } from './app.js';
import { createAuthenticator } from './auth/authenticator.js';
import { createRateLimiter } from './auth/rate-limit.js';
import type { ApiDeps, ApiSettings } from './deps.js';
import { createHeartbeatView, type HeartbeatView } from './heartbeats.js';
import { announceCreated } from './jobs/accept.js';
import { createSubmitBatcher } from './jobs/submit-batcher.js';
import { createApiMetrics } from './metrics.js';
import { createStreamRegistry } from './sse/registry.js';

/** What the server reads from the configuration. */
export interface ApiServerConfig extends ApiSettings {
  readonly databaseUrl: string;
  readonly dbPoolSize: number;
  readonly gantryNamespace: string;
  readonly httpHost: string;
  /** 0 takes any free port. */
  readonly port: number;
}

/** Options of {@link createApiServer}. */
export interface ApiServerOptions {
  readonly config: ApiServerConfig;
  readonly nc: NatsConnection;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly version: string;
}

/** A running API server: its bound port and URL once started, and its parts. */
export interface ApiServer extends ListeningComponent {
  /** The live parts, for tests: the heartbeat view's signals, the stream count. */
  readonly deps: ApiDeps;
}

/** Milliseconds the server waits for in-flight publishes when it stops. */
const PUBLISH_DRAIN_MS = 5_000;

async function settle(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([work.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Builds the server; `start()` listens. */
export function createApiServer(opts: ApiServerOptions): ApiServer {
  const { config, nc, logger } = opts;
  const names = namesOf(config.gantryNamespace);
  let deps: ApiDeps | undefined;
  let app: FastifyInstance | undefined;

  const open = () => {
    const pool: Pool = createPool(config.databaseUrl, { max: config.dbPoolSize, applicationName: 'gantry-api' });
    const js = jetstream(nc);
    const publisher: Publisher = createPublisher(nc, { registry: opts.metrics.registry });
    const announcer = createAnnouncer({ publisher, maxQueued: config.publishBacklog });
    const fanOut = createEventFanout({ nc, names, logger, registry: opts.metrics.registry });
    const onCommitError = (err: unknown) => logger.error({ err }, 'publishing after a commit failed');
    const writer = new JobWriter({ pool, onCommit: fanOut, onCommitError, onFlush: writeFlushRecorder(opts.metrics.registry) });
    const heartbeats: HeartbeatView = createHeartbeatView({ nc, names, logger });
    const built: ApiDeps = {
      pool,
      names,
      nc,
      js,
      publisher,
      announcer,
      submits: createSubmitBatcher({ pool, onCommit: (jobs, stored) => announceCreated(built, jobs, stored), onCommitError }),
      writer,
      fanOut,
      authenticator: createAuthenticator({ pool, cacheMs: config.authCacheMs }),
      rateLimiter: createRateLimiter({ perSecond: config.rateLimitPerSecond, burst: config.rateLimitBurst }),
      authFailures: createRateLimiter({ perSecond: config.authFailuresPerMinute / 60, burst: config.authFailureBurst }),
      heartbeats,
      streams: createStreamRegistry(),
      metrics: opts.metrics,
      apiMetrics: createApiMetrics(opts.metrics.registry),
      logger,
      settings: config,
    };
    return built;
  };

  const close = async (d: ApiDeps) => {
    await app?.close();
    app = undefined;
    await d.heartbeats.stop();
    await d.submits.stop();
    await d.writer.stop();
    await d.announcer.idle(PUBLISH_DRAIN_MS);
    await settle(d.publisher.close(), PUBLISH_DRAIN_MS);
    await d.pool.end();
  };

  const server = listeningComponent({
    name: 'api',
    what: 'api',
    host: config.httpHost,
    logger,
    listen: async () => {
      const d = open();
      deps = d;
      try {
        await d.heartbeats.start();
        app = buildApp(d, { version: opts.version });
        await app.listen({ host: config.httpHost, port: config.port });
        return app.server.address() as AddressInfo;
      } catch (err) {
        await close(d);
        throw err;
      }
    },
    close: async () => {
      if (deps) await close(deps);
    },
  });
  return withViews(server, {
    get deps() {
      if (!deps) throw new Error('the api server has not started');
      return deps;
    },
  });
}
