import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { createAuthenticator } from '../auth/authenticator.js';
import { mintToken } from '@gantry/store';
import { startTestApi, type TestApi, type TestWorkspace } from '../testing/harness.js';

const db = useTestDatabase();
let ns: TestNamespace;
let api: TestApi;
let limited: TestApi;
let ws: TestWorkspace;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  api = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc });
  limited = await startTestApi({
    databaseUrl: db.url,
    namespace: ns.namespace,
    nc: ns.nc,
    settings: { rateLimitPerSecond: 1, rateLimitBurst: 2, authCacheMs: 60_000 },
  });
  ws = await api.workspace();
});
afterAll(async () => {
  await limited?.stop();
  await api?.stop();
  await ns?.cleanup();
});

const job = { type: 'auth', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] };

async function jobCount(): Promise<number> {
  return (await api.pool.query('SELECT count(*)::int AS n FROM runner_jobs')).rows[0].n;
}

describe('authentication', () => {
  it.each([
    ['no Authorization header', {}, 'Bearer realm="gantry"'],
    ['another scheme', { authorization: 'Basic dXNlcjpwYXNz' }, 'Bearer realm="gantry", error="invalid_token"'],
    ['a malformed token', { authorization: 'Bearer nope' }, 'Bearer realm="gantry", error="invalid_token"'],
    ['an unknown token', { authorization: `Bearer ${mintToken().token}` }, 'Bearer realm="gantry", error="invalid_token"'],
  ])('answers 401 for %s, before reading the body, and writes nothing', async (_name, headers, challenge) => {
    const before = await jobCount();
    const res = await api.call('POST', '/runner-jobs', { headers, body: '{not json' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe(challenge);
    expect(res.body).toMatchObject({ code: 'UNAUTHENTICATED', status: 401 });
    expect(await jobCount()).toBe(before);
  });

  it('answers 401 for a revoked or an expired token', async () => {
    const revoked = await ws.token(['jobs:admin'], { revoked: true });
    const expired = await ws.token(['jobs:admin'], { expiresAt: new Date(Date.now() - 1_000) });
    for (const { token } of [revoked, expired]) {
      const res = await api.call('GET', '/runner-jobs', { token });
      expect(res.body).toMatchObject({ status: 401, code: 'UNAUTHENTICATED', detail: expect.stringContaining('revoked or expired') });
    }
  });

  it('records when a token was last used', async () => {
    const { id, token } = await ws.token(['jobs:read']);
    expect((await api.call('GET', '/queue', { token })).status).toBe(200);
    const { rows } = await api.pool.query('SELECT last_used_at FROM api_tokens WHERE id = $1', [id]);
    expect(rows[0].last_used_at).toBeInstanceOf(Date);
  });

  it('needs no token for the docs and the health endpoints', async () => {
    for (const path of ['/openapi.json', '/docs', '/healthz', '/readyz', '/metrics']) {
      expect([path, (await api.call('GET', path)).status]).toEqual([path, 200]);
    }
  });
});

describe('scopes', () => {
  it('lets jobs:read read, jobs:write also submit, and jobs:admin also decide and bulk cancel (403 otherwise)', async () => {
    const submit = (token: string) => api.call('POST', '/runner-jobs', { token, body: job });
    const bulk = (token: string) => api.call('POST', '/runner-jobs/cancel', { token, body: { type: 'none-such' } });
    expect((await api.call('GET', '/runner-jobs', { token: ws.reader })).status).toBe(200);
    const denied = await submit(ws.reader);
    expect(denied.status).toBe(403);
    expect(denied.body).toMatchObject({ code: 'FORBIDDEN', detail: expect.stringContaining('jobs:write') });
    expect((await submit(ws.writer)).status).toBe(202);
    expect((await api.call('GET', '/runner-jobs', { token: ws.writer })).status).toBe(200);
    expect((await bulk(ws.writer)).status).toBe(403);
    expect((await bulk(ws.admin)).status).toBe(200);
    expect((await submit(ws.admin)).status).toBe(202);
  });
});

describe('rate limit', () => {
  it('answers 429 with Retry-After once a token spends its burst, per token', async () => {
    const a = await ws.token(['jobs:read']);
    const b = await ws.token(['jobs:read']);
    const statuses = [];
    for (let i = 0; i < 3; i++) statuses.push((await limited.call('GET', '/queue', { token: a.token })).status);
    expect(statuses).toEqual([200, 200, 429]);
    const refused = await limited.call('GET', '/queue', { token: a.token });
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', status: 429 });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await limited.call('GET', '/queue', { token: b.token })).status).toBe(200);
  });
});

describe('the token cache', () => {
  it('keeps a verified token for its cache time (so a revocation waits for it) but never past its expiry', async () => {
    const { id, token } = await ws.token(['jobs:read'], { expiresAt: new Date(Date.now() + 60_000) });
    let now = Date.now();
    const auth = createAuthenticator({ pool: api.pool, cacheMs: 120_000, now: () => now });
    const header = `Bearer ${token}`;
    expect((await auth.authenticate(header)).workspaceId).toBe(ws.id);
    await api.pool.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [id]);
    // Within the cache time and before the expiry: the cached answer stands.
    now += 30_000;
    expect((await auth.authenticate(header)).tokenId).toBe(id);
    // Past the token's expiry the cache no longer answers: the lookup sees the revocation.
    now += 31_000;
    await expect(auth.authenticate(header)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
  });

  it('keeps verified tokens while unknown ones arrive by the thousand: junk cannot push them out', async () => {
    const { id, token } = await ws.token(['jobs:read']);
    const auth = createAuthenticator({ pool: api.pool, cacheMs: 120_000, maxEntries: 2 });
    expect((await auth.authenticate(`Bearer ${token}`)).tokenId).toBe(id);
    for (let i = 0; i < 5; i++) {
      await expect(auth.authenticate(`Bearer gty_junk${String(i).padStart(36, '0')}`)).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    }
    // Revoked now: only a new lookup would see it. The cached answer still stands.
    await api.pool.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [id]);
    expect((await auth.authenticate(`Bearer ${token}`)).tokenId).toBe(id);
  });
});
