/**
 * What steps put in events and archives survives awkward input: an AI endpoint's model name
 * with a NUL (PostgreSQL's jsonb refuses \u0000; the engine stores U+FFFD), a file name that is
 * not UTF-8 in a directory artifact (archived as its bytes).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();

let server: Server;
let baseUrl: string;
const answer = '{"model":"evil\\u0000model","choices":[{"message":{"role":"assistant","content":"ok"},"finish_reason":"stop"}],"usage":{"prompt_tokens":1,"completion_tokens":1}}';

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // A model name with a NUL: valid JSON, valid JS string; PostgreSQL jsonb cannot store it.
      res.end(answer);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('step events and archives with awkward input', () => {
  it('an AI answer whose model name holds a NUL does not leave the attempt unable to write', async () => {
    const { worker } = await h.startWorker({ settings: { ai: { ...h.settings().ai, baseUrl } } });
    const job = await h.createJob({
      maxAttempts: 1,
      steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages: [{ role: 'user', content: 'hi' }] } }],
    });
    // The ai.tokens_used event carries the model name: stored with U+FFFD, or the write that
    // carries it is refused and the attempt cannot go on.
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    expect((await h.job(job.id)).status).toBe('COMPLETED');
  });

  it('a directory artifact holding a file whose name is not UTF-8 is stored', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 1,
      steps: [
        { name: 'make', phase: 'EXECUTION', type: 'COMMAND', spec: { shell: '/bin/sh -e', script: `mkdir -p out\necho ok > out/good.txt\necho bad > "out/$(printf 'caf\\351.txt')"\nls out` } },
        { name: 'keep', phase: 'VALIDATION', type: 'ARTIFACT', spec: { path: 'out' } },
      ],
    });
    const outcome = await h.run(worker, job.id);
    const steps = await h.steps(job.id);
    expect(steps[1]!.error).toBeNull();
    expect(outcome).toBe('COMPLETED');
  });
});
