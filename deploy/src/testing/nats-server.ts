/**
 * A private nats-server for a test, started from a config object (JSON is valid server config):
 * JetStream on with storage in a temporary directory, a free port, its log kept for assertions.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A running server. */
export interface NatsServer {
  readonly url: string;
  /** Everything the server logged so far. */
  log(): string;
  /** Stops the server and removes its storage. Idempotent. */
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts `nats-server` (or NATS_SERVER_BIN) with `config` merged into its base settings. */
export async function startNatsServer(config: Record<string, unknown>): Promise<NatsServer> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-nats-auth-'));
  const port = await freePort();
  const file = join(dir, 'nats.conf');
  await writeFile(file, JSON.stringify({ host: '127.0.0.1', port, jetstream: { store_dir: join(dir, 'js') }, ...config }, null, 2));
  const child: ChildProcess = spawn(process.env.NATS_SERVER_BIN ?? 'nats-server', ['-c', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    child.stderr!.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) resolve();
    });
    void exited.then(() => reject(new Error(`nats-server exited before it was ready: ${log.slice(-2_000)}`)));
  });
  let stopped: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    log: () => log,
    stop: () =>
      (stopped ??= (async () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
        await exited;
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
