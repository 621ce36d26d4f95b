/**
 * An AI endpoint (any `baseUrl` a job names) that reports more tokens than the step row's
 * `integer` columns hold. The step recorded the count as it came, PostgreSQL refused the write
 * that ended the step ("integer out of range"), and the attempt was ABANDONED with the job left
 * RUNNING and nobody running it. Counts are now recorded within 0..2³¹−1.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();

let server: Server;
let baseUrl: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({
        id: 'c1',
        model: 'big-model',
        choices: [{ index: 0, message: { role: 'assistant', content: 'ok' }, finish_reason: 'stop' }],
        // A safe integer, but past PostgreSQL's integer (2^31 - 1).
        usage: { prompt_tokens: 3_000_000_000, completion_tokens: 5 },
      }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('AI token counts past the integer range', () => {
  it('complete the step, recorded at the integer maximum', async () => {
    const { worker } = await h.startWorker();
    const job = await h.createJob({
      maxAttempts: 1,
      steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { baseUrl, messages: [{ role: 'user', content: 'hi' }] } }],
    });
    const outcome = await h.run(worker, job.id);
    const row = await h.job(job.id);
    expect({ outcome, status: row.status }).toEqual({ outcome: 'COMPLETED', status: 'COMPLETED' });
    const [step] = await h.steps(job.id);
    expect({ input: step!.input_tokens, output: step!.output_tokens }).toEqual({ input: 2_147_483_647, output: 5 });
  });
});
