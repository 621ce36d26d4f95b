/**
 * A nats-server of one fault test's own: JetStream on, its storage in a temporary directory,
 * a free port that stays the same across restarts, so the test can `kill -9` it and start it
 * again on the same data without touching the machine's shared server.
 *
 * With `syncAlways` the server's configuration file carries `jetstream { sync_interval: always }`
 * (every write fsynced before the publish is acknowledged). nats-server 2.9 does not know the
 * setting and refuses the file; {@link natsSupportsSyncAlways} probes for it.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** The nats-server binary; `NATS_SERVER_BIN` overrides the one on the PATH. */
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** Options of {@link startPrivateNats}. */
export interface PrivateNatsOptions {
  /** Write `sync_interval: always` into the server's JetStream configuration. */
  readonly syncAlways?: boolean;
}

/** A private nats-server. */
export interface PrivateNats {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Whether the server process is running now. */
  readonly running: boolean;
  /** Sends `signal` (default SIGKILL) and resolves once the server has exited. Idempotent. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and storage; resolves when it is ready. */
  restart(): Promise<void>;
  /** Kills the server if it runs and removes its storage. */
  cleanup(): Promise<void>;
}

function configText(port: number, storeDir: string, syncAlways: boolean): string {
  const sync = syncAlways ? ', sync_interval: always' : '';
  return `listen: "127.0.0.1:${port}"\njetstream { store_dir: ${JSON.stringify(storeDir)}${sync} }\n`;
}

/**
 * Whether this nats-server accepts `jetstream { sync_interval: always }` (2.10 and later do,
 * 2.9 refuses the field). Runs the server's configuration test (`-t`), nothing else.
 */
export async function natsSupportsSyncAlways(): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-faults-natsprobe-'));
  try {
    const file = join(dir, 'probe.conf');
    await writeFile(file, configText(await freePort(), join(dir, 'js'), true));
    const probe = spawnSync(NATS_SERVER_BIN, ['-t', '-c', file], { encoding: 'utf8', timeout: 10_000 });
    return probe.status === 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function launch(configFile: string): { child: ChildProcess; exited: Promise<void>; ready: Promise<void> } {
  const child = spawn(NATS_SERVER_BIN, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    let log = '';
    const onData = (chunk: Buffer) => {
      log = (log + chunk.toString()).slice(-4_000);
      if (log.includes('Server is ready')) {
        child.stderr!.off('data', onData);
        child.stderr!.resume();
        resolve();
      }
    };
    child.stderr!.on('data', onData);
    void exited.then(() => reject(new Error(`nats-server exited before it was ready: ${log.slice(-2_000)}`)));
  });
  return { child, exited, ready };
}

/** Starts a private nats-server and resolves once it is ready for connections. */
export async function startPrivateNats(opts: PrivateNatsOptions = {}): Promise<PrivateNats> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-faults-nats-'));
  const port = await freePort();
  const configFile = join(dir, 'nats.conf');
  await writeFile(configFile, configText(port, join(dir, 'jetstream'), opts.syncAlways ?? false));
  let current = launch(configFile);
  try {
    await current.ready;
  } catch (err) {
    await rm(dir, { recursive: true, force: true });
    throw err;
  }
  const isRunning = () => current.child.exitCode === null && current.child.signalCode === null;
  const kill = async (signal: NodeJS.Signals = 'SIGKILL') => {
    if (isRunning()) current.child.kill(signal);
    await current.exited;
  };
  return {
    url: `nats://127.0.0.1:${port}`,
    get running() {
      return isRunning();
    },
    kill,
    async restart() {
      await kill();
      current = launch(configFile);
      await current.ready;
    },
    async cleanup() {
      await kill();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
