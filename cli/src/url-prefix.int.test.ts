/**
 * GANTRY_URL may name the API under a path (`https://ops.example.com/gantry`, behind a reverse
 * proxy). The client resolved absolute paths (`/runner-jobs`) against it, which dropped the
 * base's path: every request, with its bearer token, went to
 * `https://ops.example.com/runner-jobs`, another application's URL.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApi, type TestApi, type TestWorkspace } from '@gantry/api/testing';
import { createTestNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { EXIT, runCli } from './cli.js';
import { recordingIo } from './testing.js';

const db = useTestDatabase();
let ns: TestNamespace;
let api: TestApi;
let ws: TestWorkspace;
let proxy: Server;
let proxyUrl: string;
/** Paths the proxy was asked for outside /gantry/, with whether they carried a token. */
const strays: { path: string; token: boolean }[] = [];

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  api = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc });
  ws = await api.workspace();
  const target = new URL(api.url);
  // A reverse proxy that serves the API under /gantry/ and something else everywhere else.
  proxy = createServer((req, res) => {
    const url = req.url ?? '/';
    if (!url.startsWith('/gantry/')) {
      strays.push({ path: url, token: req.headers.authorization !== undefined });
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not the API');
      return;
    }
    const upstream = request(
      { host: target.hostname, port: target.port, method: req.method, path: url.slice('/gantry'.length), headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    req.pipe(upstream);
  });
  await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
  proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/gantry`;
});
afterAll(async () => {
  await new Promise((r) => proxy?.close(r));
  await api?.stop();
  await ns?.cleanup();
});

describe('GANTRY_URL with a path', () => {
  it('sends the requests under that path', async () => {
    const io = recordingIo({ GANTRY_URL: proxyUrl, GANTRY_TOKEN: ws.reader });
    const code = await runCli(['list', '--json'], io);
    expect(strays, 'requests (with the bearer token) sent outside the API base URL').toEqual([]);
    expect(code, io.stderr.join('\n')).toBe(EXIT.ok);
  });
});
