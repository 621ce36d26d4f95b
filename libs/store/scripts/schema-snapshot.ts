/**
 * Migrates a scratch database and writes its schema snapshot to libs/store/schema.snapshot.
 * With --check, compares instead and exits 1 when the committed snapshot differs.
 *
 *   npm run schema:snapshot          # after adding a migration
 *   npm run schema:snapshot -- --check
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { migrate, schemaSnapshot } from '../src/index.js';

const SNAPSHOT = fileURLToPath(new URL('../schema.snapshot', import.meta.url));
const adminUrl = process.env.DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const check = process.argv.includes('--check');

const name = `gantry_snapshot_${process.pid}_${Date.now().toString(36)}`;
const admin = new pg.Client({ connectionString: adminUrl });
await admin.connect();
await admin.query(`CREATE DATABASE ${name}`);
let exitCode = 0;
try {
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await migrate(url.toString());
  const client = new pg.Client({ connectionString: url.toString() });
  await client.connect();
  const fresh = await schemaSnapshot(client).finally(() => client.end());
  if (check) {
    const committed = readFileSync(SNAPSHOT, 'utf8');
    if (committed !== fresh) {
      console.error('schema drift: libs/store/schema.snapshot differs from a freshly migrated database.');
      console.error('Run `npm run schema:snapshot` and commit the result if the change is intended.');
      exitCode = 1;
    } else {
      console.log('schema snapshot matches the migrations');
    }
  } else {
    writeFileSync(SNAPSHOT, fresh);
    console.log(`wrote ${SNAPSHOT}`);
  }
} finally {
  await admin.query(`DROP DATABASE IF EXISTS ${name}`);
  await admin.end();
}
process.exitCode = exitCode;
