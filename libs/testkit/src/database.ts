/**
 * A fresh PostgreSQL database per test file, cloned from a template that was migrated once per
 * test run. Dropping it fails when a connection to it is still open, so a test that leaks a
 * pool fails.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { migrate } from '@gantry/store';

/** Database names the testkit makes: `gantry_test_<base36 ms>_<hex>` and `gantry_tpl_<base36 ms>_<hex>`. */
const TEST_DATABASE = /^gantry_(test|tpl)_([0-9a-z]+)_[0-9a-f]+$/;

/** A database name for a test database or template created now. */
function testDatabaseName(kind: 'test' | 'tpl', suffix: string): string {
  return `gantry_${kind}_${Date.now().toString(36)}_${suffix}`;
}

/** When the testkit created database `name` (ms since the epoch); undefined for a name it does not make. */
export function testDatabaseCreatedAt(name: string): number | undefined {
  const m = TEST_DATABASE.exec(name);
  return m ? parseInt(m[2]!, 36) : undefined;
}

/** The server tests use; override with TEST_DATABASE_URL (a URL of any database on it). */
export function adminUrl(): string {
  // eslint-disable-next-line no-restricted-properties -- tests choose their server here
  const configured = process.env.TEST_DATABASE_URL;
  const url = new URL(configured ?? 'postgres://postgres@127.0.0.1:5432/postgres');
  url.pathname = '/postgres';
  return url.toString();
}

/** The URL of database `name` on the test server. */
export function databaseUrl(name: string): string {
  const url = new URL(adminUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

async function withAdmin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: adminUrl(), application_name: 'gantry-testkit' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates and migrates a template database; returns its name. */
export async function createTemplate(): Promise<string> {
  const name = testDatabaseName('tpl', randomBytes(4).toString('hex'));
  await withAdmin((c) => c.query(`CREATE DATABASE ${name}`));
  await migrate(databaseUrl(name));
  // No connection may stay on a template while databases are cloned from it.
  await withAdmin((c) => c.query(`ALTER DATABASE ${name} WITH ALLOW_CONNECTIONS false`));
  return name;
}

/** Drops a template made by {@link createTemplate}. */
export async function dropTemplate(name: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name}`));
}

/** Drops database `name` if it exists, ending any session still on it: for a database a test made under a name of its own. */
export async function dropDatabase(name: string): Promise<void> {
  await withAdmin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export interface TestDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database; throws, naming them, if connections to it are still open. */
  drop(): Promise<void>;
}

/** Clones `template` into a new database for one test file. */
export async function createTestDatabase(template: string): Promise<TestDatabase> {
  const name = testDatabaseName('test', randomBytes(6).toString('hex'));
  await withAdmin((c) => c.query(`CREATE DATABASE ${name} TEMPLATE ${template}`));
  return {
    name,
    url: databaseUrl(name),
    drop: () => dropTestDatabase(name),
  };
}

async function dropTestDatabase(name: string): Promise<void> {
  await withAdmin(async (c) => {
    const leaked = await waitForNoConnections(c, name);
    if (leaked.length > 0) {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      throw new Error(`test leaked ${leaked.length} PostgreSQL connection(s) to ${name}: ${leaked.join(', ')}`);
    }
    await c.query(`DROP DATABASE IF EXISTS ${name}`);
  });
}

/** Waits up to 5 s for the database's backends to exit; returns the application names left. */
async function waitForNoConnections(c: pg.Client, name: string): Promise<string[]> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const { rows } = await c.query<{ app: string }>(
      `SELECT coalesce(nullif(application_name, ''), 'unnamed') AS app FROM pg_stat_activity WHERE datname = $1`,
      [name],
    );
    if (rows.length === 0 || Date.now() > deadline) return rows.map((r) => r.app);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
