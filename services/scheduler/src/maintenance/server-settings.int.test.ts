import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPool, type Pool } from '@gantry/store';
import { useTestDatabase } from '@gantry/testkit';
import { serverSettingWarnings } from './server-settings.js';

const db = useTestDatabase();
let pool: Pool;

beforeAll(() => {
  pool = createPool(db.url, { max: 1, applicationName: 'settings-test' });
});
afterAll(async () => {
  await pool.end();
});

describe('serverSettingWarnings', () => {
  it('warns exactly about the settings this server has off', async () => {
    const { rows } = await pool.query<{ name: string; setting: string }>(
      `SELECT name, setting FROM pg_settings WHERE name IN ('autovacuum', 'track_counts') ORDER BY name`,
    );
    const off = rows.filter((r) => r.setting !== 'on').map((r) => r.name);
    const warnings = await serverSettingWarnings(pool);
    expect(warnings.map((w) => w.setting).sort()).toEqual(off);
    for (const w of warnings) expect(w.message).toContain(`${w.setting} is ${w.value}`);
  });
});

describe('serverSettingWarnings on a server with autovacuum off', () => {
  it('names the setting and what to do', async () => {
    const settings = [{ name: 'autovacuum', setting: 'off' }, { name: 'track_counts', setting: 'on' }];
    const server = { query: async () => ({ rows: settings }) } as unknown as Pool;
    const warnings = await serverSettingWarnings(server);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ setting: 'autovacuum', value: 'off' });
    expect(warnings[0]!.message).toContain('VACUUM those tables regularly');
  });
});
