/**
 * A server that takes no writes (a standby reached through a stale address, a primary demoted
 * in a failover) refuses every write with 25006. The store answers UNAVAILABLE (try again), and
 * the connection that reached it is closed rather than handed to the next caller, so the next
 * try connects afresh: to the new primary once the address points at it. Here the database is
 * made read-only for new connections (`default_transaction_read_only`) and writable again.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '@gantry/testkit';
import { translateDbError } from './errors.js';
import { createPool, postgresReadinessCheck, withTransaction, type Pool } from './pool.js';

const db = useTestDatabase();
let admin: pg.Client;
let pool: Pool;

beforeAll(async () => {
  admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  await admin.query('CREATE TABLE probe (n int)');
  pool = createPool(db.url, { max: 2, applicationName: 'read-only-test' });
});
afterAll(async () => {
  await pool?.end();
  await admin?.end();
});

const database = () => new URL(db.url).pathname.slice(1);
const backend = (client: pg.ClientBase) => client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid').then((r) => r.rows[0]!.pid);

describe('a write refused as read-only', () => {
  it('fails UNAVAILABLE and closes the connection, so the next transaction reaches a writable server', async () => {
    await admin.query(`ALTER DATABASE "${database()}" SET default_transaction_read_only = on`);
    let refusedOn = 0;
    const refused = await withTransaction(pool, async (client) => {
      refusedOn = await backend(client);
      await client.query('INSERT INTO probe VALUES (1)');
    }).catch((err: unknown) => err);
    expect((refused as { code?: string }).code).toBe('25006');
    expect(translateDbError(refused).code).toBe('UNAVAILABLE');
    expect(pool.totalCount).toBe(0);

    await admin.query(`ALTER DATABASE "${database()}" RESET default_transaction_read_only`);
    const wroteOn = await withTransaction(pool, async (client) => {
      await client.query('INSERT INTO probe VALUES (2)');
      return backend(client);
    });
    expect(wroteOn).not.toBe(refusedOn);
    expect((await admin.query('SELECT n FROM probe')).rows).toEqual([{ n: 2 }]);
  });

  it('keeps a connection whose statement failed for what it said', async () => {
    const first = await withTransaction(pool, (client) => backend(client));
    await expect(withTransaction(pool, (client) => client.query('INSERT INTO probe VALUES (1 / 0)'))).rejects.toMatchObject({ code: '22012' });
    expect(await withTransaction(pool, (client) => backend(client))).toBe(first);
  });

  it('makes the readiness check fail while the server takes no writes', async () => {
    await admin.query(`ALTER DATABASE "${database()}" SET default_transaction_read_only = on`);
    // A pool connected to the server as it is now, as a service's would be after a failover.
    const standby = createPool(db.url, { max: 1, applicationName: 'read-only-readiness' });
    try {
      await expect(postgresReadinessCheck(standby).check()).rejects.toThrow(/takes no writes/);
      // Once the server takes writes again, the next check is ready: the read-only connection was closed.
      await admin.query(`ALTER DATABASE "${database()}" RESET default_transaction_read_only`);
      await expect(postgresReadinessCheck(standby).check()).resolves.toBeUndefined();
    } finally {
      await admin.query(`ALTER DATABASE "${database()}" RESET default_transaction_read_only`);
      await standby.end();
    }
  });
});
