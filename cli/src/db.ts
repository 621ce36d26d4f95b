/**
 * The database a command works on: `DATABASE_URL` parsed by the shared configuration, opened
 * as a MikroORM instance for the duration of the command (these are low-volume writes, the ORM's
 * job) and closed afterwards, whatever happens.
 */
import type { EntityManager } from '@mikro-orm/core';
import { loadConfig } from '@gantry/runtime';
import { createOrm } from '@gantry/store';
import type { CliIo } from './io.js';

/** Runs `fn` with a forked EntityManager on the configured database. */
export async function withDatabase<T>(io: CliIo, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  const config = loadConfig({}, io.env);
  const orm = await createOrm(config.databaseUrl, { poolSize: 1 });
  try {
    return await fn(orm.em.fork());
  } finally {
    await orm.close(true);
  }
}
