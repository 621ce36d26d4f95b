import { describe, expect, it, vi } from 'vitest';
import { useTestDatabase } from '@gantry/testkit';
import { createOrm } from '../orm.js';
import { createPool } from './pool.js';
import { withSessionOptions } from './session.js';

const db = useTestDatabase();

describe('session settings', () => {
  it('turn JIT compilation off on every connection of a pool', async () => {
    const pool = createPool(db.url, { max: 2 });
    try {
      const answers = await Promise.all([pool.query('SHOW jit'), pool.query('SHOW jit')]);
      expect(answers.map((a) => a.rows[0].jit)).toEqual(['off', 'off']);
    } finally {
      await pool.end();
    }
  });

  it('keep the options the database URL names, which win over Gantry’s', async () => {
    const url = new URL(db.url);
    url.searchParams.set('options', '-c statement_timeout=4321 -c jit=on');
    const pool = createPool(url.toString(), { max: 1 });
    try {
      const { rows } = await pool.query(`SELECT current_setting('statement_timeout') AS timeout, current_setting('jit') AS jit`);
      expect(rows[0]).toEqual({ timeout: '4321ms', jit: 'on' });
    } finally {
      await pool.end();
    }
  });

  it('pass PGOPTIONS on, as the driver does without options of its own', async () => {
    vi.stubEnv('PGOPTIONS', '-c statement_timeout=1234');
    const pool = createPool(db.url, { max: 1 });
    try {
      const { rows } = await pool.query(`SELECT current_setting('statement_timeout') AS timeout, current_setting('jit') AS jit`);
      expect(rows[0]).toEqual({ timeout: '1234ms', jit: 'off' });
    } finally {
      vi.unstubAllEnvs();
      await pool.end();
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

describe('withSessionOptions', () => {
  it('sends Gantry’s options with a URL that names none, and leaves the URL as it is', () => {
    const url = 'postgres://gantry@db.internal:5432/gantry?sslmode=require';
    expect(withSessionOptions(url, undefined)).toEqual({ connectionString: url, options: '-c jit=off' });
  });

  it('puts PGOPTIONS, then the URL’s own options, after Gantry’s', () => {
    const url = 'postgres://gantry@db:5432/gantry?options=-c%20search_path%3Dops&sslmode=require';
    const { connectionString, options } = withSessionOptions(url, '-c commit_delay=200');
    expect(options).toBe('-c jit=off -c commit_delay=200 -c search_path=ops');
    expect(new URL(connectionString).searchParams.has('options')).toBe(false);
    expect(new URL(connectionString).searchParams.get('sslmode')).toBe('require');
  });
});
