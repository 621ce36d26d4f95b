/**
 * The health and metrics HTTP server of the scheduler and the workers (the API mounts the same
 * handlers on its Fastify app instead). A lifecycle component: `start()` listens, `stop()`
 * closes the listener and every open connection. Port 0 takes any free port; {@link
 * HealthServer.port} tells which after start. The listener is registered with `trackResource`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHealthHandlers, HealthPaths, type HealthHandlers, type HealthResponse } from './health.js';
import type { ReadinessCheck } from './health.js';
import { aborted, startStop, type Component } from './lifecycle.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { trackResource } from './resources.js';

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

/** A running health server. */
export interface HealthServer extends Component {
  /** The bound port; throws before `start()` has resolved. */
  readonly port: number;
  /** `http://host:port`; throws before `start()` has resolved. */
  readonly url: string;
}

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
/**
 * The URL a client on this host reaches a server bound to `host`:`port` at: a wildcard bind
 * (`0.0.0.0`, `::`) is reached on loopback; an IPv6 host is bracketed.
 */
export function httpUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

export function createHealthServer(opts: HealthServerOptions): HealthServer {
  const handlers = createHealthHandlers({ checks: opts.checks, metrics: opts.metrics });
  const logger = opts.logger.child({ component: 'health-server' });
  let server: Server | undefined;
  let address: AddressInfo | undefined;
  let release = () => {};

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    answer(handlers, req).then(
      (a) => send(res, a, req.method === 'HEAD'),
      (err: unknown) => {
        logger.error({ err, path: req.url }, 'health handler failed');
        send(res, { status: 500, headers: {}, body: '' }, false);
      },
    );
  };

  const component = startStop({
    name: 'health-server',
    setup: async () => {
      const s = createServer(onRequest);
      address = await listen(s, opts.host, opts.port);
      server = s;
      release = trackResource('http-server', `health ${opts.host}:${address.port}`);
      logger.info({ host: opts.host, port: address.port }, 'health server listening');
    },
    run: async (signal) => {
      await aborted(signal);
      try {
        if (server) await close(server);
      } finally {
        release();
        server = undefined;
        address = undefined;
      }
    },
  });

  const bound = (): AddressInfo => {
    if (!address) throw new Error('health server is not listening');
    return address;
  };

  return {
    name: component.name,
    start: component.start,
    stop: component.stop,
    get failed() {
      return component.failed;
    },
    get port() {
      return bound().port;
    },
    get url() {
      return httpUrl(opts.host, bound().port);
    },
  };
}
