/**
 * A nats-server of one test's own: JetStream on, its storage in a temporary directory, a free
 * port that stays the same across restarts, so a test can `kill -9` it and start it again on
 * the same data — or run it with its own configuration (users and permissions) — without
 * touching the machine's shared server.
 *
 * The configuration is a JSON object (JSON is valid nats-server configuration) merged over the
 * base `{ host, port, jetstream: { store_dir } }`. With `syncAlways` the JetStream block carries
 * `sync_interval: always` (every write fsynced before the publish is acknowledged); nats-server
 * 2.9 does not know that setting and refuses the file: {@link syncAlwaysNatsServer} finds a
 * binary that accepts it (`scripts/nats-server-2.10.sh` provides one where the PATH's is 2.9).
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { freePort } from './ports.js';

/** The nats-server binary; `NATS_SERVER_BIN` overrides the one on the PATH. */
// eslint-disable-next-line no-restricted-properties -- tests choose their server binary here
export const NATS_SERVER_BIN = process.env.NATS_SERVER_BIN ?? 'nats-server';

/** Where `scripts/nats-server-2.10.sh` puts a nats-server that accepts `sync_interval`. */
export const TOOLS_NATS_SERVER_BIN = fileURLToPath(new URL('../../../.gantry/tools/bin/nats-server', import.meta.url));

/** Options of {@link startPrivateNats}. */
export interface PrivateNatsOptions {
  /** Write `sync_interval: always` into the server's JetStream configuration. */
  readonly syncAlways?: boolean;
  /** The nats-server binary; default {@link NATS_SERVER_BIN}. */
  readonly bin?: string;
  /** More configuration, merged over the base (e.g. `authorization` with users and permissions). */
  readonly config?: Readonly<Record<string, unknown>>;
}

/** A private nats-server. */
export interface PrivateNats {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  /** Whether the server process is running now. */
  readonly running: boolean;
  /** Everything the server logged so far (the last 64 KiB). */
  log(): string;
  /** Sends `signal` (default SIGKILL) and resolves once the server has exited. Idempotent. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port and storage; resolves when it is ready. */
  restart(): Promise<void>;
  /** Kills the server if it runs and removes its storage. Idempotent. */
  cleanup(): Promise<void>;
}

const LOG_KEEP = 64 * 1024;

function configText(port: number, storeDir: string, opts: PrivateNatsOptions): string {
  const extra = opts.config ?? {};
  const jetstream = { store_dir: storeDir, ...(opts.syncAlways ? { sync_interval: 'always' } : {}), ...((extra.jetstream as object | undefined) ?? {}) };
  return JSON.stringify({ host: '127.0.0.1', port, ...extra, jetstream }, null, 2);
}

/**
 * Whether nats-server `bin` accepts `jetstream { sync_interval: always }` (2.10 and later do,
 * 2.9 refuses the field). Runs the server's configuration test (`-t`), nothing else.
 */
export async function natsSupportsSyncAlways(bin: string = NATS_SERVER_BIN): Promise<boolean> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-natsprobe-'));
  try {
    const file = join(dir, 'probe.conf');
    await writeFile(file, configText(await freePort(), join(dir, 'js'), { syncAlways: true }));
    const probe = spawnSync(bin, ['-t', '-c', file], { encoding: 'utf8', timeout: 10_000 });
    return probe.status === 0;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A nats-server binary that accepts `sync_interval: always`: {@link NATS_SERVER_BIN} or {@link TOOLS_NATS_SERVER_BIN}; undefined when neither does. */
export async function syncAlwaysNatsServer(): Promise<string | undefined> {
  for (const bin of [NATS_SERVER_BIN, TOOLS_NATS_SERVER_BIN]) if (await natsSupportsSyncAlways(bin)) return bin;
  return undefined;
}

/** The version a nats-server binary reports (`2.9.10`). */
export function natsServerVersion(bin: string = NATS_SERVER_BIN): string {
  const out = spawnSync(bin, ['--version'], { encoding: 'utf8', timeout: 10_000 }).stdout ?? '';
  return /v?(\d+\.\d+\.\d+)/.exec(out)?.[1] ?? 'unknown';
}

interface Launched {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  readonly ready: Promise<void>;
}

function launch(bin: string, configFile: string, onLog: (text: string) => void): Launched {
  const child = spawn(bin, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const ready = new Promise<void>((resolve, reject) => {
    let recent = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      const text = chunk.toString();
      onLog(text);
      recent = (recent + text).slice(-4_000);
      if (recent.includes('Server is ready')) resolve();
    });
    void exited.then(() => reject(new Error(`nats-server exited before it was ready: ${recent.slice(-2_000)}`)));
  });
  return { child, exited, ready };
}

/** Starts a private nats-server and resolves once it is ready for connections. */
export async function startPrivateNats(opts: PrivateNatsOptions = {}): Promise<PrivateNats> {
  const dir = await mkdtemp(join(tmpdir(), 'gantry-nats-'));
  const port = await freePort();
  const configFile = join(dir, 'nats.conf');
  await writeFile(configFile, configText(port, join(dir, 'jetstream'), opts));
  let log = '';
  const onLog = (text: string) => {
    log = (log + text).slice(-LOG_KEEP);
  };
  let current = launch(opts.bin ?? NATS_SERVER_BIN, configFile, onLog);
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
  let cleaned: Promise<void> | undefined;
  return {
    url: `nats://127.0.0.1:${port}`,
    get running() {
      return isRunning();
    },
    log: () => log,
    kill,
    async restart() {
      await kill();
      current = launch(opts.bin ?? NATS_SERVER_BIN, configFile, onLog);
      await current.ready;
    },
    cleanup: () =>
      (cleaned ??= (async () => {
        await kill();
        await rm(dir, { recursive: true, force: true });
      })()),
  };
}
