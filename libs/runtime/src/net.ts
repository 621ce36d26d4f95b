/** Whether a TCP server answers: `npm run up` probes PostgreSQL and NATS with it, tests their private servers. */
import { connect } from 'node:net';

/** Resolves true when something accepts TCP connections on `host`:`port` within `timeoutMs`. */
export function answers(host: string, port: number, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}
