/**
 * PostgreSQL connection pools for hot-path SQL (`pg`), beside the ORM's own pool. Every pool is
 * registered as an open resource until it ends.
 */
import pg from 'pg';
import { trackResource } from '@gantry/runtime/resources';
import { isConnectionError } from './errors.js';
import { SESSION_SQL } from './session.js';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

/** A pool's settings as pg-pool 3.14 reads them: it awaits `onConnect` before it hands the connection out (its types say `void`). */
type PoolSettings = Omit<pg.PoolConfig, 'onConnect'> & { onConnect: (client: pg.ClientBase) => Promise<unknown> };

export interface PoolOptions {
  /** Connections at most; size it to the machine (a few per core). */
  max?: number;
  /** Shown in pg_stat_activity.application_name. */
  applicationName?: string;
  /** How long a request for a connection waits before it fails. */
  connectionTimeoutMs?: number;
  /**
   * How long a statement waits for its answer before it fails (`Query read timeout`, a
   * connection error: the connection is dropped, its state unknown); default: as long as TCP
   * keeps the connection. For a caller that retries, so that a try that hangs (a network that
   * drops packets without a reset) fails and is tried again instead of holding it for minutes.
   */
  queryTimeoutMs?: number;
}

/** Opens a pool on `databaseUrl`, each connection with Gantry's session settings (`session.ts`). End it with `pool.end()`. */
export function createPool(databaseUrl: string, options: PoolOptions = {}): Pool {
  const settings: PoolSettings = {
    connectionString: databaseUrl,
    // Awaited before the connection serves anything; a failure fails the request that opened it.
    onConnect: (client) => client.query(SESSION_SQL),
    max: options.max ?? 10,
    application_name: options.applicationName ?? 'gantry',
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 10_000,
    idleTimeoutMillis: 30_000,
    ...(options.queryTimeoutMs === undefined ? {} : { query_timeout: options.queryTimeoutMs }),
  };
  const pool = new pg.Pool(settings as pg.PoolConfig);
  const release = trackResource('pg-pool', options.applicationName ?? 'gantry');
  const end = pool.end.bind(pool);
  let ended: Promise<void> | undefined;
  pool.end = (() => {
    ended ??= end().finally(release);
    return ended;
  }) as typeof pool.end;
  // An idle client that loses its connection emits here; the pool replaces it.
  pool.on('error', () => {});
  // A checked-out client has no 'error' listener of the pool's, and a connection that ends emits
  // 'error' on its client even when the statement in flight fails with it too: uncaught, that
  // would end the process (a PostgreSQL restart during any transaction). This listener only
  // keeps it caught: the statements fail (the one in flight with the loss, later ones as "not
  // queryable"), and the pool destroys such a client when it is released.
  pool.on('connect', (client) => {
    client.on('error', () => {});
  });
  return pool;
}

/**
 * Gives a checked-out client back to its pool after `failure` (if any): a connection that failed
 * with a connection error, or reached a server that takes no writes, is closed rather than kept
 * for the next caller, who then gets a new connection (which after a failover reaches the new
 * primary). `pool.query` does the same for the clients it checks out.
 */
export function releaseAfter(client: PoolClient, failure?: unknown): void {
  client.release(failure !== undefined && isConnectionError(failure) ? (failure as Error) : undefined);
}

/** Runs `fn` in a transaction on a client of `pool`; commits on success, rolls back on error. */
export async function withTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failure: unknown;
  try {
    await client.query('BEGIN');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    failure = err;
    // A connection that failed is closed, not rolled back (PostgreSQL rolls back what a closed
    // connection held): a ROLLBACK would wait behind a statement whose answer never came.
    if (!isConnectionError(err)) await client.query('ROLLBACK').catch(() => {});
    throw err;
  } finally {
    releaseAfter(client, failure);
  }
}

/**
 * A readiness check (for `/readyz`) that PostgreSQL answers on `pool` and takes writes there: a
 * standby (reached through a stale address, or a primary demoted in a failover) answers reads
 * while refusing every write the service makes, so it is not ready. The connection that found
 * it read-only is closed, so the next check (and the next statement) connects afresh.
 */
export function postgresReadinessCheck(pool: Pool, timeoutMs = 2_000) {
  return {
    name: 'postgres',
    timeoutMs,
    check: async () => {
      const client = await pool.connect();
      let failure: Error | undefined;
      try {
        const { rows } = await client.query<{ read_only: string }>("SELECT current_setting('transaction_read_only') AS read_only");
        if (rows[0]?.read_only === 'on') failure = new Error('PostgreSQL takes no writes (a standby, or a failover in progress)');
      } catch (err) {
        failure = err as Error;
      } finally {
        client.release(failure);
      }
      if (failure) throw failure;
    },
  };
}
