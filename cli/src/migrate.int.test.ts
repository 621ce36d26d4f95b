import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { createPool, MIGRATIONS } from '@gantry/store';
import { adminUrl, databaseUrl } from '@gantry/testkit';
import { EXIT, runCli } from './cli.js';
import { recordingIo } from './testing.js';

const name = `cli_migrate_${randomBytes(4).toString('hex')}`;

afterAll(async () => {
  const admin = createPool(adminUrl(), { max: 1, applicationName: 'cli-migrate-test' });
  await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.end();
});

describe('gantry migrate', () => {
  it('creates a missing database and applies every migration; a second run has nothing to do', async () => {
    const io = recordingIo({ DATABASE_URL: databaseUrl(name) });
    expect(await runCli(['migrate', '--json'], io), io.stderr.join('\n')).toBe(EXIT.ok);
    const first = JSON.parse(io.stdout[0]!) as { created: boolean; applied: string[] };
    expect(first.created).toBe(true);
    expect(first.applied).toHaveLength(MIGRATIONS.length);
    const again = recordingIo({ DATABASE_URL: databaseUrl(name) });
    expect(await runCli(['migrate'], again)).toBe(EXIT.ok);
    expect(again.stdout).toEqual([]);
    expect(again.stderr.join('\n')).toMatch(/is up to date$/);
  });

  it('reports PostgreSQL out of reach with exit code 5', async () => {
    const io = recordingIo({ DATABASE_URL: 'postgres://postgres@127.0.0.1:1/none' });
    expect(await runCli(['migrate'], io)).toBe(EXIT.unavailable);
    expect(io.stderr[0]).toMatch(/^error: cannot reach PostgreSQL at postgres:\/\/\*\*\*@127\.0\.0\.1:1\/none/);
  });
});
