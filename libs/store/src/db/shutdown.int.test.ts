/**
 * `runService` stops the components within one shared deadline (`SHUTDOWN_TIMEOUT_MS`) and exits
 * EXIT_GRACE_MS after a stop that was not clean. The worker and the scheduler close their pool
 * with `closing('postgres', () => pool.end())` (libs/runtime/src/service-kit.ts), and `pool.end()`
 * waits for every checked-out client: when the component before it timed out with a statement
 * still running on the pool (blocked on a lock, or PostgreSQL unreachable behind a partition),
 * the close must still keep the deadline, or the service never exits on SIGTERM.
 */
import pg from 'pg';
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { useTestDatabase } from '@gantry/testkit';
import { closing, createLogger, runService, startStop, type ServiceProcess } from '@gantry/runtime';
import { createPool } from './pool.js';

const db = useTestDatabase();

class FakeProcess extends EventEmitter implements ServiceProcess {
  exitCode: number | string | null | undefined;
  readonly exits: number[] = [];
  exit(code: number): void {
    this.exits.push(code);
  }
}

const logger = createLogger({ service: 'test', version: '0', level: 'silent' });

describe('shutdown with a statement stuck on the pool', () => {
  it('runService ends within its deadline though pool.end() waits for a stuck client', async () => {
    const LOCK = 0x7265_7677;
    const locker = new pg.Client({ connectionString: db.url });
    await locker.connect();
    await locker.query('SELECT pg_advisory_lock($1)', [LOCK]);
    const pool = createPool(db.url, { max: 2, applicationName: 'shutdown-test' });
    // In-flight work that does not return on abort: a statement waiting for a lock.
    const stuck = pool.query('SELECT pg_advisory_lock($1)', [LOCK]).catch(() => undefined);
    const worker = startStop({
      name: 'worker',
      run: async () => {
        await stuck;
      },
    });
    const proc = new FakeProcess();
    const shutdownTimeoutMs = 1_000;
    const done = runService({
      logger,
      components: [closing('postgres', () => pool.end()), worker],
      timeoutMs: shutdownTimeoutMs,
      process: proc,
    });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const t0 = Date.now();
      proc.emit('SIGTERM');
      const outcome = await Promise.race([
        done.then((code) => ({ code, ms: Date.now() - t0 })),
        new Promise<'hung'>((r) => setTimeout(() => r('hung'), shutdownTimeoutMs + 4_000)),
      ]);
      // A stop that misses its deadline is not clean: EXIT_FAILURE, within the deadline (+ slack).
      expect(outcome).not.toBe('hung');
      expect(outcome).toMatchObject({ code: 1 });
    } finally {
      await locker.end(); // lets the stuck statement, and so pool.end(), finish
      await done;
      await stuck;
    }
  }, 20_000);
});
