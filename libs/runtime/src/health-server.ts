/**
 * The health and metrics HTTP server of the scheduler and the workers (the API mounts the same
 * handlers on its Fastify app instead). A lifecycle component (`listening.ts`): `start()`
 * listens, `stop()` closes the listener and every open connection. Port 0 takes any free port;
 * {@link HealthServer.port} tells which after start.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHealthHandlers, HealthPaths, type HealthHandlers, type HealthResponse } from './health.js';
import type { ReadinessCheck } from './health.js';
import { listeningComponent, type ListeningComponent } from './listening.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';

/** Options of {@link createHealthServer}. */
export interface HealthServerOptions {
  /** Interface to listen on, e.g. `0.0.0.0` in a pod, `127.0.0.1` in tests. */
  readonly host: string;
  /** Port (`METRICS_PORT`); 0 takes any free port. */
  readonly port: number;
  readonly checks?: readonly ReadinessCheck[];
  readonly metrics?: Metrics;
  readonly logger: Logger;
}

/** A running health server: its bound port and URL once started. */
export type HealthServer = ListeningComponent;

function send(res: ServerResponse, answer: HealthResponse, head: boolean): void {
  res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
  res.end(head ? undefined : answer.body);
}

async function answer(handlers: HealthHandlers, req: IncomingMessage): Promise<HealthResponse> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    return { status: 405, headers: { allow: 'GET, HEAD' }, body: '' };
  }
  const path = new URL(req.url ?? '/', 'http://health').pathname;
  switch (path) {
    case HealthPaths.healthz:
      return handlers.healthz();
    case HealthPaths.readyz:
      return handlers.readyz();
    case HealthPaths.metrics:
      return handlers.metrics();
    default:
      return { status: 404, headers: { 'content-type': 'text/plain' }, body: 'not found' };
  }
}

function listen(server: Server, host: string, port: number): Promise<AddressInfo> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error) => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve(server.address() as AddressInfo);
    });
  });
}

function close(server: Server): Promise<void> {
  return new Promise((resolve, reject) => {
    server.close((err) => (err ? reject(err) : resolve()));
    server.closeAllConnections();
  });
}

/** Builds the health server; call `start()` to listen. */
export function createHealthServer(opts: HealthServerOptions): HealthServer {
  const handlers = createHealthHandlers({ checks: opts.checks, metrics: opts.metrics });
  const logger = opts.logger.child({ component: 'health-server' });
  let server: Server | undefined;

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    answer(handlers, req).then(
      (a) => send(res, a, req.method === 'HEAD'),
      (err: unknown) => {
        logger.error({ err, path: req.url }, 'health handler failed');
        send(res, { status: 500, headers: {}, body: '' }, false);
      },
    );
  };

  return listeningComponent({
    name: 'health-server',
    what: 'health server',
    host: opts.host,
    logger,
    listen: async () => {
      const s = createServer(onRequest);
      const address = await listen(s, opts.host, opts.port);
      server = s;
      return address;
    },
    close: async () => {
      if (server) await close(server);
      server = undefined;
    },
  });
}
