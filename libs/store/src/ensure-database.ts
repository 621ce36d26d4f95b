/**
 * Creates the database named in a URL when it does not exist yet (a fresh development
 * machine). Where the database is provisioned by someone else (a managed or CloudNativePG
 * cluster) it exists and nothing is done.
 */
import pg from 'pg';
import { isUniqueViolation } from './db/errors.js';

const DUPLICATE_DATABASE = '42P04';

/** Creates the database of `databaseUrl` if missing; returns true when it created it. */
export async function ensureDatabase(databaseUrl: string): Promise<boolean> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (!/^[A-Za-z0-9_-]+$/.test(name)) throw new RangeError(`unsupported database name ${JSON.stringify(name)}`);
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString(), application_name: 'gantry-migrate' });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
    if (rowCount) return false;
    await admin.query(`CREATE DATABASE "${name}"`);
    return true;
  } catch (err) {
    // Another migrator created it first.
    if ((err as { code?: string }).code === DUPLICATE_DATABASE || isUniqueViolation(err)) return false;
    throw err;
  } finally {
    await admin.end();
  }
}
