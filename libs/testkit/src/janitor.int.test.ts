import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { adminUrl } from './database.js';
import { STALE_AFTER_MS, sweepStaleTestResources } from './janitor.js';

async function exists(client: pg.Client, name: string): Promise<boolean> {
  return (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1;
}

describe('the janitor', () => {
  it('drops test databases older than the stale age and keeps recent ones', async () => {
    const client = new pg.Client({ connectionString: adminUrl() });
    await client.connect();
    const stale = `gantry_test_${(Date.now() - STALE_AFTER_MS - 60_000).toString(36)}_dead01`;
    const fresh = `gantry_test_${Date.now().toString(36)}_live01`;
    try {
      await client.query(`CREATE DATABASE ${stale}`);
      await client.query(`CREATE DATABASE ${fresh}`);
      const swept = await sweepStaleTestResources();
      expect(swept.databases).toBeGreaterThanOrEqual(1);
      expect(await exists(client, stale)).toBe(false);
      expect(await exists(client, fresh)).toBe(true);
    } finally {
      await client.query(`DROP DATABASE IF EXISTS ${stale}`);
      await client.query(`DROP DATABASE IF EXISTS ${fresh}`);
      await client.end();
    }
  });
});
