import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi } from '@gantry/api/testing';
import { createPool, type Pool } from '@gantry/store';
import { createTestNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { EXIT, runCli } from './cli.js';
import { recordingIo } from './testing.js';

const db = useTestDatabase();
let ns: TestNamespace;
let pool: Pool;
let api: TestApi;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  pool = createPool(db.url, { max: 2, applicationName: 'cli-test' });
  api = await startTestApi({
    databaseUrl: db.url,
    namespace: ns.namespace,
    nc: ns.nc,
    settings: { dbPoolSize: 4, sseMaxClients: 10, publishBacklog: 1_000 },
  });
});
afterAll(async () => {
  await api?.stop();
  await pool?.end();
  await ns?.cleanup();
});

async function gantry(...argv: string[]) {
  const io = recordingIo({ DATABASE_URL: db.url });
  const code = await runCli(argv, io);
  return { code, stdout: io.stdout, stderr: io.stderr.join('\n') };
}

const job = { type: 'cli', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] };

function submit(token: string) {
  return fetch(`${api.url}/runner-jobs`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(job),
  });
}

describe('gantry workspace', () => {
  it('create makes a workspace and prints its id; a second one with the name fails', async () => {
    const made = await gantry('workspace', 'create', 'acme', '--max-running-jobs', '20');
    expect(made.code).toBe(EXIT.ok);
    expect(made.stdout).toHaveLength(1);
    const { rows } = await pool.query('SELECT id, max_running_jobs FROM workspaces WHERE name = $1', ['acme']);
    expect(rows).toEqual([{ id: made.stdout[0], max_running_jobs: 20 }]);
    const again = await gantry('workspace', 'create', 'acme');
    expect(again).toMatchObject({ code: EXIT.failed, stdout: [], stderr: 'error: workspace acme already exists' });
  });

  it('list shows the workspaces', async () => {
    await gantry('workspace', 'create', 'listed');
    const listed = await gantry('workspace', 'list', '--json');
    expect(listed.stdout.map((l) => (JSON.parse(l) as { name: string }).name)).toEqual(expect.arrayContaining(['acme', 'listed']));
  });
});

describe('gantry token', () => {
  it('create prints a working token once and stores only its hash, with the scopes and expiry asked for', async () => {
    await gantry('workspace', 'create', 'tokens');
    const made = await gantry('token', 'create', '--workspace', 'tokens', '--scopes', 'jobs:read,jobs:write', '--name', 'ci', '--expires-in', '30d');
    expect(made.code).toBe(EXIT.ok);
    expect(made.stdout).toHaveLength(1);
    const token = made.stdout[0]!;
    expect(token).toMatch(/^gantry_/);
    expect(made.stderr).toContain('shown only now');

    const { rows } = await pool.query('SELECT token_hash, prefix, scopes, name, expires_at FROM api_tokens ORDER BY created_at DESC LIMIT 1');
    expect(rows[0]).toMatchObject({
      token_hash: createHash('sha256').update(token).digest('hex'),
      prefix: token.slice(0, 12),
      scopes: ['jobs:read', 'jobs:write'],
      name: 'ci',
    });
    expect((rows[0].expires_at as Date).getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000);
    const dump = JSON.stringify(await pool.query('SELECT * FROM api_tokens')).toString();
    expect(dump).not.toContain(token);

    expect((await submit(token)).status).toBe(202);
  });

  it('create refuses an unknown workspace (3) and unknown scopes (2)', async () => {
    expect(await gantry('token', 'create', '--workspace', 'nope', '--scopes', 'jobs:read')).toMatchObject({
      code: EXIT.notFound,
      stdout: [],
      stderr: 'error: no workspace named nope',
    });
    expect((await gantry('token', 'create', '--workspace', 'acme', '--scopes', 'admin')).code).toBe(EXIT.usage);
    // Beyond any date PostgreSQL or JavaScript holds: a usage error, not the database's.
    expect((await gantry('token', 'create', '--workspace', 'acme', '--scopes', 'jobs:read', '--expires-in', '100000000d')).code).toBe(EXIT.usage);
    expect((await gantry('workspace', 'create', 'too-many', '--max-running-jobs', '2147483648')).code).toBe(EXIT.usage);
  });

  it('list shows tokens without their secrets; revoke by prefix or id takes the token out of service', async () => {
    await gantry('workspace', 'create', 'revoking');
    const token = (await gantry('token', 'create', '--workspace', 'revoking', '--scopes', 'jobs:write')).stdout[0]!;
    const listed = await gantry('token', 'list', '--workspace', 'revoking', '--json');
    const [entry] = listed.stdout.map((l) => JSON.parse(l) as { id: string; prefix: string; state: string });
    expect(entry).toMatchObject({ prefix: token.slice(0, 12), state: 'active' });
    expect(listed.stdout.join('')).not.toContain(token);
    expect((await submit(token)).status).toBe(202);

    expect(await gantry('token', 'revoke', token.slice(0, 12))).toMatchObject({ code: EXIT.ok, stderr: `revoked token ${entry!.id}` });
    expect((await submit(token)).status).toBe(401);
    expect((await gantry('token', 'revoke', entry!.id)).stderr).toContain('already revoked');
    expect((await gantry('token', 'list', '--workspace', 'revoking')).stdout[0]).toContain('revoked');
    expect((await gantry('token', 'revoke', 'gantry_nothing')).code).toBe(EXIT.notFound);
    expect((await gantry('token', 'list', '--workspace', 'nope')).code).toBe(EXIT.notFound);
  });
});

describe('the gantry executable', () => {
  it('runs a command end to end through bin/gantry.mjs', async () => {
    const bin = fileURLToPath(new URL('../bin/gantry.mjs', import.meta.url));
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, 'workspace', 'create', 'from-bin', '--json'], {
      env: { ...process.env, DATABASE_URL: db.url },
    });
    expect(JSON.parse(stdout)).toMatchObject({ name: 'from-bin' });
    expect(stderr).toContain('created workspace from-bin');
  });
});
