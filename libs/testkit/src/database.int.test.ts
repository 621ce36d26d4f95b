import pg from 'pg';
import { describe, expect, inject, it } from 'vitest';
import { MIGRATIONS } from '@gantry/store';
import { createTestDatabase } from './database.js';

describe('test databases', () => {
  it('are migrated clones of the template', async () => {
    const db = await createTestDatabase(inject('gantryTemplateDatabase'));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const { rows } = await client.query(`SELECT name FROM gantry_migrations ORDER BY id`);
    await client.end();
    await db.drop();
    expect(rows.map((r) => r.name)).toEqual(MIGRATIONS.map((m) => m.name));
  });

  it('refuse to drop quietly while a connection is open: the leak is named', async () => {
    const db = await createTestDatabase(inject('gantryTemplateDatabase'));
    const leaked = new pg.Client({ connectionString: db.url, application_name: 'leaky-test' });
    await leaked.connect();
    leaked.on('error', () => {}); // the drop terminates it
    await expect(db.drop()).rejects.toThrow(/leaked 1 PostgreSQL connection\(s\).*leaky-test/);
    await leaked.end().catch(() => {});
  });
});
