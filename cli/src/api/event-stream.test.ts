import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT } from '../exit.js';
import { ApiClient } from './client.js';
import { jobEvents, parseSseBlock } from './event-stream.js';

const JOB = '00000000-0000-4000-8000-000000000001';

function event(sequence: number, type: string, payload: unknown = {}) {
  return { v: 1, id: `00000000-0000-4000-8000-${String(sequence).padStart(12, '0')}`, jobId: JOB, workspaceId: JOB, stepId: null, sequence, attempt: 1, actor: 'test', at: new Date().toISOString(), type, payload };
}
const message = (e: ReturnType<typeof event>) => `id: ${e.sequence}\ndata: ${JSON.stringify(e)}\n\n`;

let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((r) => server?.close(r) ?? r(undefined));
  server = undefined;
});

/** A real HTTP server answering each connection with the next handler. */
async function serve(handlers: ((headers: IncomingHttpHeaders, res: ServerResponse) => void)[]): Promise<{ client: ApiClient; seen: IncomingHttpHeaders[] }> {
  const seen: IncomingHttpHeaders[] = [];
  server = createServer((req, res) => {
    seen.push(req.headers);
    const handler = handlers[seen.length - 1];
    if (handler) handler(req.headers, res);
    else res.writeHead(500).end();
  });
  await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
  return { client: new ApiClient(`http://127.0.0.1:${(server!.address() as AddressInfo).port}`, 'tok'), seen };
}

async function collect(client: ApiClient, opts: { after?: number } = {}) {
  const got: number[] = [];
  const reconnects: number[] = [];
  for await (const e of jobEvents({ client, jobId: JOB, retryMs: 10, onReconnect: (_why, seq) => reconnects.push(seq), ...opts })) got.push(e.sequence);
  return { got, reconnects };
}

describe('jobEvents', () => {
  it('resumes with Last-Event-ID after a dropped connection, without losing or repeating an event', async () => {
    const { client, seen } = await serve([
      (_h, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`retry: 20\n\n${message(event(1, 'job.created'))}${message(event(2, 'job.queued'))}id: 3\ndata: {"trunc`);
        setTimeout(() => res.destroy(), 20);
      },
      (_h, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        // The server repeats event 2; the client drops it.
        res.end(`: keep-alive\n\n${message(event(2, 'job.queued'))}${message(event(3, 'job.started'))}${message(event(4, 'job.completed'))}`);
      },
    ]);
    const { got, reconnects } = await collect(client);
    expect(got).toEqual([1, 2, 3, 4]);
    expect(reconnects).toEqual([2]);
    expect(seen.map((h) => h['last-event-id'])).toEqual(['0', '2']);
    expect(seen[0]!.authorization).toBe('Bearer tok');
  });

  it('ends on 204 (finished, nothing after Last-Event-ID) and reconnects when a stream ends before the job does', async () => {
    const { client, seen } = await serve([
      (_h, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end(message(event(6, 'step.started'))),
      (_h, res) => res.writeHead(204).end(),
    ]);
    expect((await collect(client, { after: 5 })).got).toEqual([6]);
    expect(seen.map((h) => h['last-event-id'])).toEqual(['5', '6']);
  });

  it('fails at once on an API error, with the problem and its exit code', async () => {
    const { client } = await serve([
      (_h, res) =>
        res
          .writeHead(404, { 'content-type': 'application/problem+json' })
          .end(JSON.stringify({ title: 'Not found', status: 404, detail: `job ${JOB} does not exist`, code: 'NOT_FOUND' })),
    ]);
    await expect(collect(client)).rejects.toMatchObject({ exitCode: EXIT.notFound, message: `404 Not found: job ${JOB} does not exist [NOT_FOUND]` });
  });

  it('gives up after repeated failed connections with exit code 5', async () => {
    const { client } = await serve([]);
    await expect(
      (async () => {
        for await (const _ of jobEvents({ client, jobId: JOB, retryMs: 1, maxFailures: 3 })) void _;
      })(),
    ).rejects.toMatchObject({ exitCode: EXIT.unavailable });
  });

  it('keeps following through connections a proxy cuts after a keep-alive, however many', async () => {
    const cut = (_h: IncomingHttpHeaders, res: ServerResponse) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('retry: 1\n\n: keep-alive\n\n');
      setTimeout(() => res.destroy(), 5);
    };
    const { client, seen } = await serve([
      (_h, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(message(event(1, 'job.waiting')));
        setTimeout(() => res.destroy(), 5);
      },
      ...Array.from({ length: 6 }, () => cut),
      (_h, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end(message(event(2, 'job.completed'))),
    ]);
    const got: number[] = [];
    for await (const e of jobEvents({ client, jobId: JOB, retryMs: 1, maxFailures: 3 })) got.push(e.sequence);
    expect(got).toEqual([1, 2]);
    expect(seen).toHaveLength(8);
  });

  it('counts a connection that ends before any keep-alive as failed', async () => {
    const { client } = await serve(
      Array.from({ length: 5 }, () => (_h: IncomingHttpHeaders, res: ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' }).end('retry: 1\n\n')),
    );
    await expect(
      (async () => {
        for await (const _ of jobEvents({ client, jobId: JOB, retryMs: 1, maxFailures: 3 })) void _;
      })(),
    ).rejects.toMatchObject({ exitCode: EXIT.unavailable, message: expect.stringContaining('after 3 failed connections') });
  });

  it('parses SSE fields by the spec', () => {
    expect(parseSseBlock('id: 7\nevent: x\ndata: a\ndata:b\n: comment\nretry: 50')).toEqual({ id: '7', data: 'a\nb', retry: 50 });
  });

  it('waits for keep-alives as seldom as the server announces them, rather than reconnecting before each', async () => {
    // The server sends a keep-alive every 400 ms; left to its own 250 ms, the client would give
    // up on every connection before the first one came. (Wide margins: a busy machine's timers.)
    const quiet = (res: ServerResponse, end: boolean) => {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'gantry-keepalive-ms': '400' });
      res.write('retry: 10\n\n');
      let beats = 0;
      const timer = setInterval(() => {
        beats += 1;
        if (end && beats === 3) {
          clearInterval(timer);
          res.end(message(event(1, 'job.completed')));
        } else res.write(': keep-alive\n\n');
      }, 400);
      res.on('close', () => clearInterval(timer));
    };
    const { client } = await serve([(_h, res) => quiet(res, true)]);
    const got: number[] = [];
    const reconnects: string[] = [];
    for await (const e of jobEvents({ client, jobId: JOB, idleTimeoutMs: 250, maxFailures: 2, retryMs: 10, onReconnect: (why) => reconnects.push(why) })) got.push(e.sequence);
    expect({ got, reconnects }).toEqual({ got: [1], reconnects: [] });
  });
});
