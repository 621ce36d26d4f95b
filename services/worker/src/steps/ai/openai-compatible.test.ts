import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openAiCompatibleProvider } from './openai-compatible.js';

let server: Server | undefined;
afterEach(async () => {
  await new Promise((r) => (server ? server.close(r) : r(undefined)));
  server = undefined;
});

describe('the OpenAI-compatible provider', () => {
  it('does not put the API key into the error of a refusal whose body echoes the request', async () => {
    // A proxy that answers 401 with the headers it was sent.
    server = createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'text/plain' }).end(`unauthorized; you sent ${req.headers.authorization}`);
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const key = 'sk-live-0123456789abcdef';
    const provider = openAiCompatibleProvider({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`, apiKey: key });
    const failure = await provider.complete({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, new AbortController().signal).catch((err: unknown) => err as Error);
    expect((failure as Error).message).toBe('the AI endpoint answered 401: unauthorized; you sent Bearer [redacted]');
  });
});
