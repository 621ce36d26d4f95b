/**
 * Applies the committed migrations. Idempotent, and safe when several run at once (a Kubernetes
 * Job and a developer, or parallel test runs): a session-level advisory lock lets one migrator
 * work while the others wait, then find nothing left to do.
 */
import pg from 'pg';
import { createOrm } from './orm.js';

/** Advisory lock key shared by every migrator of every Gantry deployment on a database. */
const MIGRATION_LOCK_KEY = 0x6761_6e74; // "gant"

export interface MigrateResult {
  /** Names of the migrations this run applied, in order. */
  applied: string[];
}

/** Brings the database at `databaseUrl` up to the newest migration. */
export async function migrate(databaseUrl: string): Promise<MigrateResult> {
  const lock = new pg.Client({ connectionString: databaseUrl, application_name: 'gantry-migrate-lock' });
  await lock.connect();
  try {
    await lock.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
    const orm = await createOrm(databaseUrl, { poolSize: 1 });
    try {
      const done = await orm.getMigrator().up();
      return { applied: done.map((m) => m.name) };
    } finally {
      await orm.close(true);
    }
  } finally {
    await lock.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY]).catch(() => {});
    await lock.end();
  }
}
