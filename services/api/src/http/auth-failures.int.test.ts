/**
 * Failed authentications per client address (AUTH_FAILURES_PER_MINUTE, AUTH_FAILURE_BURST): each
 * lookup of a well-formed token the API does not know is taken from its address's budget first,
 * so an address past it gets 429 without a lookup, however many requests it sends at once; the
 * tokens its clients have been seen to use are still looked up. The address is the connection's,
 * or from a proxy of TRUSTED_PROXIES the client it names in X-Forwarded-For.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashToken, mintToken } from '@gantry/store';
import { createTestNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { startTestApi, type TestApi, type TestWorkspace } from '../testing/harness.js';

const db = useTestDatabase();
let ns: TestNamespace;
let direct: TestApi;
let proxied: TestApi;
let ws: TestWorkspace;

// A budget of 3 failures that refills at one a minute (nothing refills during a test); no cache,
// so that every request with a token costs a lookup unless the budget stops it.
const LIMIT = { authFailuresPerMinute: 1, authFailureBurst: 3, authCacheMs: 0 };

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  direct = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: LIMIT });
  // The test's connections come from 127.0.0.1: the "proxy" here.
  proxied = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: { ...LIMIT, trustedProxies: '127.0.0.1/32, 10.0.0.0/8' } });
  ws = await direct.workspace();
});
afterAll(async () => {
  await proxied?.stop();
  await direct?.stop();
  await ns?.cleanup();
});

const unknown = () => mintToken().token;
const list = (api: TestApi, token: string, headers: Record<string, string> = {}) => api.call('GET', '/runner-jobs', { token, headers });

describe('failed authentications per client address', () => {
  it('answer 429 with Retry-After past the budget; a token the address used is still looked up; a malformed one costs nothing', async () => {
    expect((await list(direct, ws.reader)).status).toBe(200);
    // Malformed tokens are refused without a lookup, and do not count; nor do good tokens.
    for (let i = 0; i < 5; i++) expect((await list(direct, 'nope')).status).toBe(401);
    for (let i = 0; i < 5; i++) expect((await list(direct, ws.reader)).status).toBe(200);
    for (let i = 0; i < 3; i++) expect((await list(direct, unknown())).status).toBe(401);

    const refused = await list(direct, unknown());
    expect(refused.status).toBe(429);
    expect(refused.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(refused.body).toMatchObject({ code: 'RATE_LIMITED', detail: expect.stringContaining('failed authentications') });
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);

    // The token verified before is still looked up (there is no cache): it works, and revoked it is refused.
    expect((await list(direct, ws.reader)).status).toBe(200);
    await direct.pool.query('UPDATE api_tokens SET revoked_at = now() WHERE token_hash = $1', [hashToken(ws.reader)]);
    expect((await list(direct, ws.reader)).status).toBe(401);
    // Refused, it is known no more: its next lookup would be charged, and the budget is spent.
    expect((await list(direct, ws.reader)).status).toBe(429);
    // A good token not yet seen from this address waits like the rest; no header is still a 401.
    expect((await list(direct, ws.writer)).status).toBe(429);
    expect((await direct.call('GET', '/runner-jobs')).status).toBe(401);
    // X-Forwarded-For is not believed from a connection that is no trusted proxy.
    expect((await list(direct, unknown(), { 'x-forwarded-for': '203.0.113.9' })).status).toBe(429);
  });

  it('cannot be outrun by requests sent at once', async () => {
    const from = { 'x-forwarded-for': '203.0.113.50' };
    const answers = await Promise.all(Array.from({ length: 20 }, () => list(proxied, unknown(), from)));
    const statuses = answers.map((a) => a.status).sort();
    expect(statuses.filter((s) => s === 401)).toHaveLength(3);
    expect(statuses.filter((s) => s === 429)).toHaveLength(17);
  });

  it('refuse to start with a TRUSTED_PROXIES entry that is no address or range', async () => {
    for (const bad of ['abc', '10.0.0.0/33', '1.2.3', '10.0.0.1/8/1']) {
      await expect(startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: { trustedProxies: `127.0.0.1, ${bad}` } })).rejects.toThrow(/TRUSTED_PROXIES/);
    }
  });

  it('count each client a trusted proxy names apart, and believe only the proxy’s own entry', async () => {
    const from = (address: string) => ({ 'x-forwarded-for': address });
    for (let i = 0; i < 3; i++) expect((await list(proxied, unknown(), from('203.0.113.1'))).status).toBe(401);
    expect((await list(proxied, unknown(), from('203.0.113.1'))).status).toBe(429);
    // A client's own entry before the proxy's names nobody new: still 203.0.113.1.
    expect((await list(proxied, unknown(), from('198.51.100.7, 203.0.113.1'))).status).toBe(429);
    // Another client behind the same proxy is not held back.
    expect((await list(proxied, unknown(), from('203.0.113.2'))).status).toBe(401);
    expect((await list(proxied, ws.admin, from('203.0.113.2'))).status).toBe(200);
    // An IPv6 client counts by its /64: another address of the same network is the same client.
    for (let i = 0; i < 3; i++) expect((await list(proxied, unknown(), from('2001:db8:7:7::1'))).status).toBe(401);
    expect((await list(proxied, unknown(), from('2001:db8:7:7::2'))).status).toBe(429);
    expect((await list(proxied, unknown(), from('2001:db8:7:8::1'))).status).toBe(401);
  });
});
