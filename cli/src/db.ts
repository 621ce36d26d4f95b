/**
 * The database a command works on: `DATABASE_URL` parsed by the shared configuration, opened
 * as a MikroORM instance for the duration of the command (these are low-volume writes, the ORM's
 * job) and closed afterwards, whatever happens. A PostgreSQL that cannot be reached exits 5, a
 * database that does not exist (a typo, or not migrated yet) exits 2, as the exit codes say.
 */
import type { EntityManager } from '@mikro-orm/core';
import { loadConfig, redactUrl } from '@gantry/runtime';
import { createOrm, isConnectionError } from '@gantry/store';
import { CliError, EXIT } from './exit.js';
import type { CliIo } from './io.js';

/** PostgreSQL's code for a database that does not exist. */
const INVALID_CATALOG_NAME = '3D000';

/** Runs `fn` with a forked EntityManager on the configured database. */
export async function withDatabase<T>(io: CliIo, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  const config = loadConfig({}, io.env);
  const database = redactUrl(config.databaseUrl);
  try {
    const orm = await createOrm(config.databaseUrl, { poolSize: 1 });
    try {
      return await fn(orm.em.fork());
    } finally {
      await orm.close(true);
    }
  } catch (err) {
    const cause = (err as { cause?: unknown }).cause;
    if ([err, cause].some((e) => (e as { code?: unknown } | undefined)?.code === INVALID_CATALOG_NAME)) {
      throw new CliError(`${database} names a database that does not exist: check DATABASE_URL, or create it with \`gantry migrate\``, EXIT.usage, { cause: err });
    }
    if (isConnectionError(err) || isConnectionError(cause)) {
      throw new CliError(`cannot reach PostgreSQL at ${database}: ${(err as Error).message}`, EXIT.unavailable, { cause: err });
    }
    throw err;
  }
}
