/**
 * Test support: a NATS server of the test's own (JetStream on, storage in a temporary
 * directory, a free port), so a test can kill it without touching the shared server.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The binary; override with NATS_SERVER_BIN. */
// eslint-disable-next-line no-restricted-properties -- tests choose their server binary here
const BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

export interface PrivateNats {
  readonly url: string;
  /** Kills the server (SIGKILL) and resolves once it has exited. Idempotent. */
  kill(): Promise<void>;
  /** Kills the server if running and removes its storage. */
  cleanup(): Promise<void>;
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

/** Starts the server and resolves once it says it is ready for connections. */
export async function startPrivateNats(): Promise<PrivateNats> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-nats-'));
  const port = await freePort();
  const child: ChildProcess = spawn(BIN, ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server is ready')) {
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`nats-server exited before it was ready: ${log.slice(-2_000)}`)));
  });
  const kill = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    kill,
    async cleanup() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
