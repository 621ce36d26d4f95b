import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useWorkerHarness } from '../testing/harness.js';

const h = useWorkerHarness();

interface Seen {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
}

type Reply = (req: IncomingMessage, res: ServerResponse) => void;

/** A real OpenAI-compatible HTTP server whose answers the test scripts. */
let server: Server;
let baseUrl: string;
let replies: Reply[] = [];
let seen: Seen[] = [];
let onRequest: (() => void) | undefined;

function ok(content: string, usage = { prompt_tokens: 12, completion_tokens: 5 }): Reply {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ id: 'c1', model: 'test-model-2024', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage }));
  };
}

function status(code: number, headers: Record<string, string> = {}): Reply {
  return (_req, res) => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message: `status ${code}` } }));
  };
}

beforeAll(async () => {
  server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c: Buffer) => (raw += c.toString()));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', authorization: req.headers.authorization, body: JSON.parse(raw) as Record<string, unknown> });
      onRequest?.();
      const reply = replies.shift() ?? status(500);
      reply(req, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function reset(...next: Reply[]): void {
  replies = next;
  seen = [];
}

const messages = [{ role: 'system', content: 'be brief' }, { role: 'user', content: 'hello' }];

describe('AI_ACTION steps', () => {
  it('retries 429 and 5xx, then records tokens on the step, in an event and in the metric', async () => {
    const { worker, metrics } = await h.startWorker({
      settings: { ai: { ...h.settings().ai, baseUrl: 'http://127.0.0.1:9/unused', retryBaseMs: 5, keysBySecret: { [`${h.workspaceId}/team-key`]: 'ws-key', '*/team-key': 'shared' } } },
    });
    reset(status(429, { 'retry-after': '0' }), status(502), ok('hi there'));
    const job = await h.createJob({
      steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { baseUrl, apiKeySecret: 'team-key', model: 'test-model', messages, maxTokens: 50, temperature: 0.2 } }],
    });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    expect(seen).toHaveLength(3);
    expect(seen[2]).toEqual({
      path: '/v1/chat/completions',
      authorization: 'Bearer ws-key',
      body: { model: 'test-model', messages, max_tokens: 50, temperature: 0.2 },
    });
    const [step] = await h.steps(job.id);
    expect(step).toMatchObject({ input_tokens: 12, output_tokens: 5 });
    expect(step!.output).toMatchObject({ content: 'hi there', model: 'test-model-2024', finishReason: 'stop' });
    const tokens = (await h.events(job.id)).find((e) => e.type === 'ai.tokens_used')!;
    expect(tokens.payload).toEqual({ provider: 'openai-compatible', model: 'test-model-2024', inputTokens: 12, outputTokens: 5 });
    const text = await metrics.render();
    expect(text).toMatch(/^gantry_ai_tokens_total\{direction="input",model="test-model-2024"\} 12$/m);
    expect(text).toMatch(/^gantry_ai_tokens_total\{direction="output",model="test-model-2024"\} 5$/m);
  });

  it('sends the configured key only to the configured base URL', async () => {
    const { worker } = await h.startWorker({ settings: { ai: { ...h.settings().ai, baseUrl, apiKey: 'cfg-key', model: 'default-model' } } });
    reset(ok('a'), ok('b'));
    const job = await h.createJob({
      steps: [
        { name: 'configured', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages } },
        { name: 'elsewhere', phase: 'EXECUTION', type: 'AI_ACTION', spec: { baseUrl: `${baseUrl}/other`, messages } },
      ],
    });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    expect(seen.map((s) => [s.path, s.authorization, s.body.model])).toEqual([
      ['/v1/chat/completions', 'Bearer cfg-key', 'default-model'],
      ['/v1/other/chat/completions', undefined, 'default-model'],
    ]);
  });

  it('fails without retry on a refusal, and retryable once retries are spent', async () => {
    const { worker } = await h.startWorker({ settings: { ai: { ...h.settings().ai, baseUrl, maxRetries: 1, retryBaseMs: 5 } } });
    reset(status(400));
    const refused = await h.createJob({ maxAttempts: 3, steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages } }] });
    expect(await h.run(worker, refused.id)).toBe('FAILED');
    expect(seen).toHaveLength(1);
    expect((await h.steps(refused.id))[0]!.error).toMatchObject({ code: 'AI_REQUEST_REJECTED' });

    reset(status(503), status(503));
    const busy = await h.createJob({ maxAttempts: 3, steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages } }] });
    expect(await h.run(worker, busy.id)).toBe('RETRY');
    expect(seen).toHaveLength(2);
    expect((await h.job(busy.id)).error).toMatchObject({ code: 'STEP_FAILED', retryable: true });
    expect((await h.events(busy.id)).find((e) => e.type === 'step.failed')!.payload).toMatchObject({ error: { code: 'AI_UNAVAILABLE' } });
  });

  it('aborts the HTTP call on cancel', async () => {
    const { worker } = await h.startWorker({ settings: { ai: { ...h.settings().ai, baseUrl } } });
    let closed!: () => void;
    const connectionClosed = new Promise<void>((resolve) => (closed = resolve));
    const received = new Promise<void>((resolve) => (onRequest = resolve));
    reset((_req, res) => res.on('close', closed));
    const job = await h.createJob({ steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages } }, { name: 'cleanup', phase: 'CLEANUP', type: 'NOOP' }] });
    const ended = worker.signals.next('attemptEnded', (e) => e.jobId === job.id);
    await h.dispatch(job.id, 1);
    await received;
    onRequest = undefined;
    h.ns.nc.publish(h.ns.names.subjects.cancel(worker.id), JSON.stringify({ v: 1, jobId: job.id, attempt: 1, reason: 'cancelled' }));
    expect((await ended).outcome).toBe('CANCELLED');
    await connectionClosed;
    expect((await h.steps(job.id)).map((s) => s.status)).toEqual(['FAILED', 'COMPLETED']);
  });

  it('refuses an unknown secret without retry', async () => {
    const { worker } = await h.startWorker({ settings: { ai: { ...h.settings().ai, baseUrl } } });
    reset();
    const job = await h.createJob({ maxAttempts: 3, steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { apiKeySecret: 'nope', messages } }] });
    expect(await h.run(worker, job.id)).toBe('FAILED');
    expect(seen).toHaveLength(0);
    expect((await h.steps(job.id))[0]!.error).toMatchObject({ code: 'UNKNOWN_SECRET' });
  });

  it('fails without retry on an answer larger than it reads, and cuts a long model name', async () => {
    const { worker } = await h.startWorker({ settings: { ai: { ...h.settings().ai, baseUrl } } });
    const huge: Reply = (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      // More than MAX_ANSWER_BYTES, sent in 1 MiB chunks; the worker stops reading past the limit.
      const chunk = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 9; i++) res.write(chunk);
      res.end();
    };
    reset(huge);
    const flooded = await h.createJob({ maxAttempts: 3, steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages } }] });
    expect(await h.run(worker, flooded.id)).toBe('FAILED');
    expect((await h.steps(flooded.id))[0]!.error).toMatchObject({ code: 'AI_REQUEST_REJECTED', message: expect.stringMatching(/larger than 8388608 bytes/) });

    reset((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ model: 'm'.repeat(10_000), choices: [{ message: { content: 'ok' }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1 } }));
    });
    const named = await h.createJob({ steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages } }] });
    expect(await h.run(worker, named.id)).toBe('COMPLETED');
    const used = (await h.events(named.id)).find((e) => e.type === 'ai.tokens_used')!.payload as { model: string };
    expect(used.model).toBe('m'.repeat(200));
  });

  // A count past PostgreSQL's integer (2³¹−1) was recorded as it came: the write that ended the
  // step was refused ("integer out of range"), and the attempt was ABANDONED with the job left
  // RUNNING and nobody running it.
  it('records token counts past the integer range at its maximum, and completes', async () => {
    const { worker } = await h.startWorker({ settings: { ai: { ...h.settings().ai, baseUrl } } });
    reset(ok('ok', { prompt_tokens: 3_000_000_000, completion_tokens: 5 }));
    const job = await h.createJob({ maxAttempts: 1, steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages } }] });
    expect({ outcome: await h.run(worker, job.id), status: (await h.job(job.id)).status }).toEqual({ outcome: 'COMPLETED', status: 'COMPLETED' });
    const [step] = await h.steps(job.id);
    expect({ input: step!.input_tokens, output: step!.output_tokens }).toEqual({ input: 2_147_483_647, output: 5 });
  });

  // An answer within half the result limit as text, but past it as JSON (a control character
  // takes six bytes there): the whole output was replaced by its size, the answer lost.
  it('keeps as much of an answer as fits the result limit once stored as JSON', async () => {
    const { worker } = await h.startWorker({ settings: { ai: { ...h.settings().ai, baseUrl } } });
    reset(ok('\u0001'.repeat(100_000)));
    const job = await h.createJob({ maxAttempts: 1, steps: [{ name: 'ask', phase: 'EXECUTION', type: 'AI_ACTION', spec: { messages } }] });
    expect(await h.run(worker, job.id)).toBe('COMPLETED');
    const output = (await h.steps(job.id))[0]!.output as { content?: string; contentTruncated?: boolean; truncated?: boolean };
    expect(output.truncated).toBeUndefined();
    expect(output.contentTruncated).toBe(true);
    expect(output.content!.length).toBeGreaterThan(20_000);
    expect(Buffer.byteLength(JSON.stringify(output.content))).toBeLessThanOrEqual(128 * 1024);
  });
});
