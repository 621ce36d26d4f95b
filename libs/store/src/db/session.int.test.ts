import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it, vi } from 'vitest';
import { useTestDatabase } from '@gantry/testkit';
import { createOrm } from '../orm.js';
import { createPool } from './pool.js';

const db = useTestDatabase();
const run = promisify(execFile);

describe('session settings', () => {
  it('turn JIT compilation off on every connection of a pool, before its first statement', async () => {
    const pool = createPool(db.url, { max: 2 });
    try {
      const answers = await Promise.all([pool.query('SHOW jit'), pool.query('SHOW jit')]);
      expect(answers.map((a) => a.rows[0].jit)).toEqual(['off', 'off']);
    } finally {
      await pool.end();
    }
  });

  it('are in force before a connection serves a request, not queued beside its statement', async () => {
    // node-pg warns (once per process, hence a process of its own) when a statement is sent
    // while the connection still runs another: the setting must be awaited, not queued.
    const script = `
      import { createPool } from './src/db/pool.ts';
      const pool = createPool(${JSON.stringify(db.url)}, { max: 2 });
      const answers = await Promise.all([pool.query('SHOW jit'), pool.query('SHOW jit')]);
      console.log(JSON.stringify(answers.map((a) => a.rows[0].jit)));
      await pool.end();`;
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
    });
    expect(stdout.trim()).toBe('["off","off"]');
    expect(stderr).not.toContain('DeprecationWarning');
  });

  it('leave the options of PGOPTIONS and of the database URL in force', async () => {
    vi.stubEnv('PGOPTIONS', '-c statement_timeout=1234');
    const url = new URL(db.url);
    url.searchParams.set('options', '-c lock_timeout=4321');
    const fromEnv = createPool(db.url, { max: 1 });
    const fromUrl = createPool(url.toString(), { max: 1 });
    try {
      const settings = `SELECT current_setting('statement_timeout') AS statement, current_setting('lock_timeout') AS lock, current_setting('jit') AS jit`;
      expect((await fromEnv.query(settings)).rows[0]).toEqual({ statement: '1234ms', lock: '0', jit: 'off' });
      expect((await fromUrl.query(settings)).rows[0]).toMatchObject({ lock: '4321ms', jit: 'off' });
    } finally {
      vi.unstubAllEnvs();
      await fromEnv.end();
      await fromUrl.end();
    }
  });

  it('turn JIT compilation off on the ORM’s connections', async () => {
    const orm = await createOrm(db.url, { poolSize: 1 });
    try {
      const rows = await orm.em.fork().getConnection().execute<{ jit: string }[]>('SHOW jit');
      expect(rows[0]!.jit).toBe('off');
    } finally {
      await orm.close();
    }
  });
});
