/**
 * Failed authentications per client address (AUTH_FAILURES_PER_MINUTE, AUTH_FAILURE_BURST): each
 * well-formed token the API cannot verify costs a lookup, so an address past its budget gets 429
 * without one, while a token verified within AUTH_CACHE_MS still passes. The address is the
 * connection's, or with TRUSTED_PROXY_HOPS the client the proxies name in X-Forwarded-For.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mintToken } from '@gantry/store';
import { createTestNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { startTestApi, type TestApi, type TestWorkspace } from '../testing/harness.js';

const db = useTestDatabase();
let ns: TestNamespace;
let direct: TestApi;
let proxied: TestApi;
let ws: TestWorkspace;

// A budget of 3 failures that refills at one a minute: nothing refills during the test.
const LIMIT = { authFailuresPerMinute: 1, authFailureBurst: 3, authCacheMs: 60_000 };

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  direct = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: LIMIT });
  proxied = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: { ...LIMIT, trustedProxyHops: 1 } });
  ws = await direct.workspace();
});
afterAll(async () => {
  await proxied?.stop();
  await direct?.stop();
  await ns?.cleanup();
});

const unknown = () => mintToken().token;

describe('failed authentications per client address', () => {
  it('answer 429 with Retry-After past the budget, except for a token verified meanwhile; a malformed token costs nothing', async () => {
    expect((await direct.call('GET', '/runner-jobs', { token: ws.reader })).status).toBe(200);
    // Malformed tokens are refused without a lookup, and do not count.
    for (let i = 0; i < 5; i++) expect((await direct.call('GET', '/runner-jobs', { token: 'nope' })).status).toBe(401);
    for (let i = 0; i < 3; i++) expect((await direct.call('GET', '/runner-jobs', { token: unknown() })).status).toBe(401);

    const refused = await direct.call('GET', '/runner-jobs', { token: unknown() });
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', detail: expect.stringContaining('failed authentications') });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    // The token verified before still works; a good token not yet verified waits like the rest.
    expect((await direct.call('GET', '/runner-jobs', { token: ws.reader })).status).toBe(200);
    expect((await direct.call('GET', '/runner-jobs', { token: ws.writer })).status).toBe(429);
    // X-Forwarded-For is not believed without TRUSTED_PROXY_HOPS: it does not escape the limit.
    expect((await direct.call('GET', '/runner-jobs', { token: unknown(), headers: { 'x-forwarded-for': '203.0.113.9' } })).status).toBe(429);
  });

  it('count each client the trusted proxy names apart', async () => {
    const from = (address: string) => ({ 'x-forwarded-for': address });
    for (let i = 0; i < 3; i++) expect((await proxied.call('GET', '/runner-jobs', { token: unknown(), headers: from('203.0.113.1') })).status).toBe(401);
    expect((await proxied.call('GET', '/runner-jobs', { token: unknown(), headers: from('203.0.113.1') })).status).toBe(429);
    // A client's own X-Forwarded-For entry before the proxy's is not believed either.
    expect((await proxied.call('GET', '/runner-jobs', { token: unknown(), headers: from('198.51.100.7, 203.0.113.1') })).status).toBe(429);
    // Another client behind the same proxy is not held back.
    expect((await proxied.call('GET', '/runner-jobs', { token: unknown(), headers: from('203.0.113.2') })).status).toBe(401);
    expect((await proxied.call('GET', '/runner-jobs', { token: ws.admin, headers: from('203.0.113.2') })).status).toBe(200);
  });
});
