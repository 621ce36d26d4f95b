/**
 * A lifecycle component around a listening HTTP server: `start()` runs `listen` (which opens
 * whatever the server needs and binds), registers the listener with `trackResource` and logs
 * `<what> listening` with the bound host and port; `stop()` runs `close` and releases it. Port 0
 * takes any free port; {@link ListeningComponent.port} tells which once started. The health
 * server of the scheduler and workers and the API server are both one of these.
 */
import type { AddressInfo } from 'node:net';
import { aborted, startStop, type Component, withViews } from './lifecycle.js';
import type { Logger } from './logger.js';
import { trackResource } from './resources.js';

/** Options of {@link listeningComponent}. */
export interface ListeningOptions {
  /** The component's name (in lifecycle errors). */
  readonly name: string;
  /** What listens, in the log line (`<what> listening`) and the tracked resource. */
  readonly what: string;
  /** The interface bound, for the log line and {@link ListeningComponent.url}. */
  readonly host: string;
  readonly logger: Logger;
  /** Opens what the server needs and listens; resolves with the bound address. Cleans up after itself when it fails. */
  readonly listen: () => Promise<AddressInfo>;
  /** Stops listening and closes what `listen` opened. */
  readonly close: () => Promise<void>;
}

/** A started server's component with its address. */
export interface ListeningComponent extends Component {
  /** The bound port; throws before `start()` has resolved. */
  readonly port: number;
  /** `http://host:port`; throws before `start()` has resolved. */
  readonly url: string;
}

/**
 * The URL a client on this host reaches a server bound to `host`:`port` at: a wildcard bind
 * (`0.0.0.0`, `::`) is reached on loopback; an IPv6 host is bracketed.
 */
export function httpUrl(host: string, port: number): string {
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** Builds the component; see the module doc. */
export function listeningComponent(opts: ListeningOptions): ListeningComponent {
  let address: AddressInfo | undefined;
  let release = () => {};
  const component = startStop({
    name: opts.name,
    setup: async () => {
      address = await opts.listen();
      release = trackResource('http-server', `${opts.what} ${opts.host}:${address.port}`);
      opts.logger.info({ host: opts.host, port: address.port }, `${opts.what} listening`);
    },
    run: async (signal) => {
      await aborted(signal);
      try {
        await opts.close();
      } finally {
        release();
        address = undefined;
      }
    },
  });
  const bound = (): AddressInfo => {
    if (!address) throw new Error(`the ${opts.what} is not listening`);
    return address;
  };
  return withViews(component, {
    get port() {
      return bound().port;
    },
    get url() {
      return httpUrl(opts.host, bound().port);
    },
  });
}
