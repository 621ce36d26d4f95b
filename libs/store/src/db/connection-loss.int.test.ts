/**
 * A connection lost while a client is checked out (a PostgreSQL restart, `pg_terminate_backend`
 * during a transaction). node-pg emits `'error'` on the client even when the loss also fails the
 * statement in flight, and pg-pool listens for none while the client is out: the pool's own
 * listener (`createPool`) keeps that from ending the process, and the transaction rejects with a
 * connection error, which the callers classify as UNAVAILABLE and retry.
 *
 * Each case runs in a process of its own (like `session.int.test.ts`), since the failure was a crash.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@gantry/testkit';

const db = useTestDatabase();
const run = promisify(execFile);

async function runScript(body: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const script = `
    import pg from 'pg';
    import { createPool, withTransaction } from './src/db/pool.ts';
    import { isConnectionError } from './src/db/errors.ts';
    const url = ${JSON.stringify(db.url)};
    ${body}`;
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      timeout: 20_000,
    });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

/**
 * Runs a transaction in a process of its own whose connection another client terminates as
 * `lose` says (the transaction's backend pid is `pid`, the other client `killer`), and prints
 * how it ended and whether the pool still serves afterwards.
 */
function loseConnection(lose: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return runScript(`
      const pool = createPool(url, { max: 2 });
      const killer = new pg.Client({ connectionString: url });
      await killer.connect();
      try {
        await withTransaction(pool, async (client) => {
          const pid = (await client.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
          ${lose}
        });
        console.log('RESOLVED');
      } catch (err) {
        console.log('REJECTED connection=' + isConnectionError(err));
      }
      // the pool still serves after the loss
      console.log('AFTER ' + (await pool.query('SELECT 1 AS one')).rows[0].one);
      await killer.end();
      await pool.end();`);
}

describe('withTransaction when its connection is lost', () => {
  it('rejects with a connection error while a statement runs, without crashing the process', async () => {
    const out = await loseConnection(`
          setTimeout(() => void killer.query('SELECT pg_terminate_backend($1)', [pid]), 200);
          await client.query('SELECT pg_sleep(3)');`);
    expect(out.stderr).not.toContain("Unhandled 'error' event");
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('REJECTED connection=true');
    expect(out.stdout).toContain('AFTER 1');
  });

  it('rejects with a connection error when the connection is lost between statements, without crashing', async () => {
    const out = await loseConnection(`
          await killer.query('SELECT pg_terminate_backend($1)', [pid]);
          await new Promise((r) => setTimeout(r, 300)); // e.g. awaiting something else mid-transaction
          await client.query('SELECT 1');`);
    expect(out.stderr).not.toContain("Unhandled 'error' event");
    expect(out.code).toBe(0);
    expect(out.stdout).toContain('REJECTED connection=true');
    expect(out.stdout).toContain('AFTER 1');
  });
});
