import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestNamespace, smokeTestService, type TestNamespace, useTestDatabase } from '@gantry/testkit';

const db = useTestDatabase();
let ns: TestNamespace;

beforeAll(async () => {
  ns = await createTestNamespace();
});
afterAll(async () => {
  await ns.cleanup();
});

describe('the api process', () => {
  it('becomes ready against PostgreSQL and NATS, serves metrics, and exits 0 on SIGTERM', async () => {
    const { ready, metrics } = await smokeTestService('api', {
      DATABASE_URL: db.url,
      GANTRY_NAMESPACE: ns.namespace,
      PORT: '0',
      HTTP_HOST: '127.0.0.1',
    });
    expect(ready.checks.map((c) => [c.name, c.ok]).sort()).toEqual([['nats', true], ['postgres', true]]);
    expect(metrics).toMatch(/^gantry_service_info\{service="api",version="0\.1\.0"\} 1$/m);
  });
});
