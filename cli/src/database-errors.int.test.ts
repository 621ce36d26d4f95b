/**
 * The commands that work on the database directly (workspaces, tokens) answer a PostgreSQL they
 * cannot reach with exit 5, as the exit codes say, and a database that does not exist with exit
 * 2, without creating it: the ORM used to create any database DATABASE_URL named, so a typo made
 * a stray, empty database and then failed on its missing tables.
 */
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createPool } from '@gantry/store';
import { adminUrl, databaseUrl, freePort } from '@gantry/testkit';
import { EXIT, runCli } from './cli.js';
import { recordingIo } from './testing.js';

describe('a database command', () => {
  it('exits 5 when PostgreSQL cannot be reached, naming the server without its password', async () => {
    const io = recordingIo({ DATABASE_URL: `postgres://gantry:s3cret@127.0.0.1:${await freePort()}/gantry` });
    expect(await runCli(['workspace', 'list'], io)).toBe(EXIT.unavailable);
    expect(io.stderr.join('\n')).toMatch(/^error: cannot reach PostgreSQL at postgres:\/\/.*@127\.0\.0\.1:\d+\/gantry/);
    expect(io.stderr.join('\n')).not.toContain('s3cret');
  });

  it('exits 2 for a database that does not exist, and does not create it', async () => {
    const name = `gantry_typo_${randomUUID().slice(0, 8)}`;
    const io = recordingIo({ DATABASE_URL: databaseUrl(name) });
    expect(await runCli(['workspace', 'list'], io)).toBe(EXIT.usage);
    expect(io.stderr.join('\n')).toMatch(/names a database that does not exist: check DATABASE_URL, or create it with `gantry migrate`/);
    const admin = createPool(adminUrl(), { max: 1, applicationName: 'cli-database-errors-test' });
    try {
      const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [name]);
      if (rowCount) await admin.query(`DROP DATABASE ${name}`);
      expect(rowCount).toBe(0);
    } finally {
      await admin.end();
    }
  });
});
