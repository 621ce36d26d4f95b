/**
 * Removes what crashed or killed test runs left behind: test databases and templates, and test
 * NATS namespaces, older than {@link STALE_AFTER_MS}. Names carry their creation time (databases)
 * or the server records it (streams), so a run never touches what a concurrent run still uses.
 * Left alone, abandoned namespaces would hold JetStream storage until the server refuses new ones.
 */
import pg from 'pg';
import { jetstreamManager } from '@nats-io/jetstream';
import { connectNats, createLogger, loadConfig } from '@gantry/runtime';
import { adminUrl, testDatabaseCreatedAt } from './database.js';

/** Test leftovers older than this are removed. */
export const STALE_AFTER_MS = 2 * 3600 * 1000;

/** Stream names of test namespaces (`t` + 12 hex digits). */
const TEST_STREAM = /^(T[0-9A-F]{12}_[A-Z_]+|OBJ_t[0-9a-f]{12}-artifacts)$/;

async function dropStaleDatabases(now: number): Promise<number> {
  const client = new pg.Client({ connectionString: adminUrl(), application_name: 'gantry-testkit-janitor' });
  await client.connect();
  try {
    const { rows } = await client.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'gantry\\_%'`);
    let dropped = 0;
    for (const { datname } of rows) {
      const createdAt = testDatabaseCreatedAt(datname);
      if (createdAt === undefined || now - createdAt < STALE_AFTER_MS) continue;
      await client.query(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`);
      dropped += 1;
    }
    return dropped;
  } finally {
    await client.end();
  }
}

async function deleteStaleStreams(now: number): Promise<number> {
  const nc = await connectNats(loadConfig(), { name: 'gantry-testkit-janitor', logger: createLogger({ service: 'testkit', version: '0', level: 'silent' }) });
  try {
    const jsm = await jetstreamManager(nc);
    let deleted = 0;
    for await (const info of jsm.streams.list()) {
      if (!TEST_STREAM.test(info.config.name) || now - new Date(info.created).getTime() < STALE_AFTER_MS) continue;
      await jsm.streams.delete(info.config.name).catch(() => undefined);
      deleted += 1;
    }
    return deleted;
  } finally {
    await nc.close();
  }
}

/** Removes stale test databases and namespaces; returns how many of each. */
export async function sweepStaleTestResources(now = Date.now()): Promise<{ databases: number; streams: number }> {
  return { databases: await dropStaleDatabases(now), streams: await deleteStaleStreams(now) };
}
