import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { createHealthServer, type HealthServer } from './health-server.js';
import { httpUrl } from './listening.js';
import { createLogger } from './logger.js';
import { createMetrics } from './metrics.js';
import { openResources } from './resources.js';

const logger = createLogger({ service: 'test', version: '0', level: 'silent' });
let ready = true;
const checks = [
  {
    name: 'dependency',
    check: async () => {
      if (!ready) throw new Error('dependency down');
    },
  },
];

function get(url: string, method = 'GET') {
  return new Promise<{ status: number; type: string | undefined; body: string }>((resolve, reject) => {
    const req = request(url, { method, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: res.headers['content-type'], body }));
    });
    req.on('error', reject);
    req.end();
  });
}

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

let server: HealthServer | undefined;

afterEach(async () => {
  await server?.stop();
  server = undefined;
  ready = true;
});

async function started(): Promise<HealthServer> {
  server = createHealthServer({
    host: '127.0.0.1',
    port: 0,
    checks,
    metrics: createMetrics({ service: 'worker', version: '9.9.9', defaultMetrics: false }),
    logger,
  });
  await server.start();
  return server;
}

describe('createHealthServer', () => {
  it('binds a free port on port 0 and registers the listener as an open resource', async () => {
    const s = await started();
    expect(s.port).toBeGreaterThan(0);
    expect(s.url).toBe(`http://127.0.0.1:${s.port}`);
    expect(openResources()).toContainEqual(
      expect.objectContaining({ kind: 'http-server', name: `health server 127.0.0.1:${s.port}` }),
    );
  });

  it('serves /healthz, /readyz and /metrics over HTTP', async () => {
    const s = await started();
    expect(await get(`${s.url}/healthz`)).toMatchObject({ status: 200, body: '{"status":"alive"}' });
    const readyz = await get(`${s.url}/readyz?verbose=1`);
    expect(readyz.status).toBe(200);
    expect(JSON.parse(readyz.body)).toMatchObject({ status: 'ready', checks: [{ name: 'dependency', ok: true }] });
    const metrics = await get(`${s.url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.type).toMatch(/^text\/plain/);
    expect(metrics.body).toContain('gantry_service_info{service="worker",version="9.9.9"} 1');
  });

  it('answers 503 from /readyz while a check fails, and 200 from /healthz regardless', async () => {
    const s = await started();
    ready = false;
    const readyz = await get(`${s.url}/readyz`);
    expect(readyz.status).toBe(503);
    expect(JSON.parse(readyz.body)).toMatchObject({ checks: [{ ok: false, error: 'dependency down' }] });
    expect((await get(`${s.url}/healthz`)).status).toBe(200);
  });

  it('answers 404 to other paths, 405 to other methods, and HEAD without a body', async () => {
    const s = await started();
    expect((await get(`${s.url}/nope`)).status).toBe(404);
    expect((await get(`${s.url}/healthz`, 'POST')).status).toBe(405);
    expect(await get(`${s.url}/healthz`, 'HEAD')).toMatchObject({ status: 200, body: '' });
  });

  it('stops listening and releases the resource on stop; stop is idempotent', async () => {
    const s = await started();
    const { url, port } = s;
    await s.stop();
    await s.stop();
    expect(openResources().some((r) => r.name === `health 127.0.0.1:${port}`)).toBe(false);
    await expect(get(`${url}/healthz`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    expect(() => s.port).toThrow(/not listening/);
  });

  it('stop does not wait for a request in flight: its connection is closed', async () => {
    const checkCalled = gate();
    const release = gate();
    const hanging = {
      name: 'hangs',
      timeoutMs: 600_000,
      check: () => {
        checkCalled.open();
        return release.opened;
      },
    };
    server = createHealthServer({ host: '127.0.0.1', port: 0, checks: [hanging], logger });
    await server.start();
    const inFlight = get(`${server.url}/readyz`);
    inFlight.catch(() => undefined);
    await checkCalled.opened;
    try {
      await server.stop();
      await expect(inFlight).rejects.toMatchObject({ code: 'ECONNRESET' });
    } finally {
      release.open();
    }
  });

  it('fails to start on a port already in use and opens nothing', async () => {
    const first = await started();
    const second = createHealthServer({ host: '127.0.0.1', port: first.port, logger });
    const before = openResources().length;
    await expect(second.start()).rejects.toMatchObject({ code: 'EADDRINUSE' });
    expect(openResources()).toHaveLength(before);
    await second.stop();
  });
});

describe('httpUrl', () => {
  it('reaches a wildcard bind on loopback and brackets IPv6 hosts', () => {
    expect(httpUrl('0.0.0.0', 80)).toBe('http://127.0.0.1:80');
    expect(httpUrl('::', 81)).toBe('http://[::1]:81');
    expect(httpUrl('127.0.0.1', 82)).toBe('http://127.0.0.1:82');
    expect(httpUrl('fe80::1', 83)).toBe('http://[fe80::1]:83');
  });
});
