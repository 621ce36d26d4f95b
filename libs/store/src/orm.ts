/**
 * The MikroORM instance for reads and low-volume writes (workspaces, tokens, job queries).
 * Hot paths go through explicit SQL on a `pg` pool instead. Never use the global
 * EntityManager: fork one per request or per job (`orm.em.fork()`).
 */
import { MikroORM } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { trackResource } from '@gantry/runtime/resources';
import { SESSION_SQL } from './db/session.js';
import { ENTITIES } from './entities/index.js';
import { MIGRATIONS } from './migrations/index.js';

export type Orm = MikroORM;

/** A raw connection of the ORM's pool (node-pg's client). */
interface PgConnection {
  query(sql: string, callback: (err: Error | null | undefined) => void): void;
}

export interface OrmOptions {
  /** Connections in the ORM's pool. */
  poolSize?: number;
  /** Log each SQL statement (development only). */
  debug?: boolean;
}

/** The table that records applied migrations. */
export const MIGRATIONS_TABLE = 'gantry_migrations';

/** Connects the ORM to `databaseUrl`. Close it with `orm.close()`. */
export async function createOrm(databaseUrl: string, options: OrmOptions = {}): Promise<Orm> {
  const orm = await MikroORM.init({
    clientUrl: databaseUrl,
    entities: ENTITIES,
    extensions: [Migrator],
    discovery: { warnWhenNoEntities: false },
    allowGlobalContext: false,
    // A missing database is an error, never created here: a typo in DATABASE_URL must not make
    // one (`ensureDatabase` in ensure-database.ts is what `migrate` calls to create it).
    ensureDatabase: false,
    debug: options.debug ?? false,
    pool: {
      min: 0,
      max: options.poolSize ?? 5,
      // Gantry's session settings (`db/session.ts`) before the connection serves anything.
      afterCreate: (conn: PgConnection, done: (err: Error | null, conn: PgConnection) => void) => {
        conn.query(SESSION_SQL, (err) => done(err ?? null, conn));
      },
    },
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: MIGRATIONS_TABLE,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
  });
  const release = trackResource('orm', new URL(databaseUrl).pathname.slice(1));
  const close = orm.close.bind(orm);
  orm.close = async (force?: boolean) => {
    try {
      await close(force);
    } finally {
      release();
    }
  };
  return orm;
}
