import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JobEvent, MetricNames, names as namesOf, type JobSpecInput } from '@gantry/contracts';
import { deleteNamespace, provision } from '@gantry/runtime';
import { JobWriter } from '@gantry/store';
import { createTestNamespace, randomNamespace, useTestDatabase, type TestNamespace } from '@gantry/testkit';
import { BatchResult } from '../schemas.js';
import { complete, createTestWriter, fail, progress, queue, start, type TestWriter } from '../testing/fixtures.js';
import { startTestApi, type TestApi, type TestWorkspace } from '../testing/harness.js';
import { openSse, sequences, type SseConnection } from '../testing/sse-client.js';

const db = useTestDatabase();
let ns: TestNamespace;
let api: TestApi;
let writer: TestWriter;
/** Writes events without publishing them: what a lost NATS message looks like. */
let silent: JobWriter;
let ws: TestWorkspace;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  api = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: { sseKeepaliveMs: 200, sseRetryMs: 1_500 } });
  writer = createTestWriter(api.pool, ns.nc, ns.names);
  silent = new JobWriter({ pool: api.pool });
  ws = await api.workspace();
});
afterAll(async () => {
  await silent?.stop();
  await writer?.close();
  await api?.stop();
  await ns?.cleanup();
});

const spec: JobSpecInput = { type: 'sse', steps: [{ name: 'run', phase: 'EXECUTION', type: 'NOOP' }] };

async function submit(): Promise<string> {
  const res = await api.call('POST', '/runner-jobs/batch', { token: ws.writer, body: { jobs: [spec] } });
  return BatchResult.parse(res.body).jobs[0]!.id;
}

function stream(jobId: string, headers: Record<string, string> = {}, base = api.url, query = ''): Promise<SseConnection> {
  return openSse(`${base}/runner-jobs/${jobId}/events/stream${query}`, { authorization: `Bearer ${ws.reader}`, ...headers });
}

async function ephemeralConsumers(stream = ns.names.streams.events): Promise<number> {
  let n = 0;
  for await (const ci of ns.jsm.consumers.list(stream)) if (!ci.config.durable_name) n += 1;
  return n;
}

/** Waits (up to 10 s) until `stream` has `count` ephemeral consumers. */
async function untilConsumers(stream: string, count: number): Promise<void> {
  for (let waited = 0; (await ephemeralConsumers(stream)) !== count; waited += 50) {
    if (waited > 10_000) throw new Error(`${stream} never had ${count} ephemeral consumers`);
    await sleep(50);
  }
}

const isEvent = (seq: number) => (m: { id?: string }) => m.id === String(seq);

describe('GET /runner-jobs/:id/events/stream', () => {
  it('backfills from PostgreSQL, streams live events as they commit, and ends after the terminal event', async () => {
    const id = await submit();
    await writer.write(queue(id));
    const sse = await stream(id, { 'x-request-id': 'req-sse' });
    expect(sse.status).toBe(200);
    expect(sse.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(sse.headers.get('x-request-id')).toBe('req-sse');
    // How often a quiet stream says it is alive, so that a client does not take it for dead.
    expect(sse.headers.get('gantry-keepalive-ms')).toBe('200');
    expect(await sse.next()).toEqual({ retry: 1_500 });
    const backfill = await sse.until(isEvent(2));
    expect(sequences(backfill.seen)).toEqual([1, 2]);
    const first = JobEvent.parse(JSON.parse(backfill.seen[0]!.data!));
    expect(first).toMatchObject({ type: 'job.created', sequence: 1, jobId: id, workspaceId: ws.id });

    await writer.write(start(id));
    await writer.write(progress(id, 40));
    await writer.write(complete(id));
    const rest = await sse.until(() => false);
    expect(sequences(rest.seen)).toEqual([3, 4, 5]);
    expect(JSON.parse(rest.seen.at(-1)!.data!).type).toBe('job.completed');
    // The consumer is deleted before the stream ends.
    expect(await ephemeralConsumers()).toBe(0);
  });

  it('resumes from Last-Event-ID after a dropped connection, with no gap and no duplicate', async () => {
    const id = await submit();
    await writer.write(queue(id));
    await writer.write(start(id));
    const first = await stream(id);
    const before = await first.until(isEvent(3));
    expect(sequences(before.seen)).toEqual([1, 2, 3]);
    first.close();

    // What happens while the client is away: committed and published, but nobody listens.
    await writer.write(progress(id, 10));
    await writer.write(progress(id, 20));
    const again = await stream(id, { 'last-event-id': '3' });
    const caughtUp = await again.until(isEvent(5));
    expect(sequences(caughtUp.seen)).toEqual([4, 5]);
    await writer.write(progress(id, 30));
    await writer.write(fail(id));
    const tail = await again.until(() => false);
    expect(sequences(tail.seen)).toEqual([6, 7]);
    expect([...sequences(before.seen), ...sequences(caughtUp.seen), ...sequences(tail.seen)]).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });

  it('sends every sequence exactly once while events commit during the connect', async () => {
    const id = await submit();
    await writer.write(queue(id));
    await writer.write(start(id));
    const writing = (async () => {
      for (let i = 1; i <= 60; i++) await writer.write(progress(id, i));
      await writer.write(complete(id));
    })();
    const sse = await stream(id);
    const all = await sse.until(() => false);
    await writing;
    expect(sequences(all.seen)).toEqual(Array.from({ length: 64 }, (_, i) => i + 1));
  });

  it('starts after ?after= when no Last-Event-ID is sent', async () => {
    const id = await submit();
    await writer.write(queue(id));
    await writer.write(start(id));
    const sse = await stream(id, {}, api.url, '?after=2');
    expect(sequences((await sse.until(isEvent(3))).seen)).toEqual([3]);
    sse.close();
  });

  it('fills from PostgreSQL an event NATS never delivered', async () => {
    const id = await submit();
    await writer.write(queue(id));
    const sse = await stream(id);
    await sse.until(isEvent(2));
    const started = await silent.write(start(id));
    expect(started.applied).toBe(true);
    await writer.write(progress(id, 50));
    const got = await sse.until(isEvent(4));
    expect(sequences(got.seen)).toEqual([3, 4]);
    sse.close();
  });

  it('keeps its live consumer past a message on the job’s subject that is not an event batch', async () => {
    const id = await submit();
    await writer.write(queue(id));
    const sse = await stream(id);
    const seen = await sse.until(isEvent(2));
    const queued = JobEvent.parse(JSON.parse(seen.seen.at(-1)!.data!));
    const subject = ns.names.subjects.events(ws.id, id);
    ns.nc.publish(subject, 'not json');
    ns.nc.publish(subject, JSON.stringify({ v: 1, jobId: id, workspaceId: ws.id, events: ['not an event'] }));
    // An event only NATS has: only the live consumer can deliver it (PostgreSQL never holds it).
    const liveOnly: JobEvent = { ...queued, id: randomUUID(), sequence: 3, type: 'job.progress', payload: { progress: 10, completedSteps: 0, totalSteps: 1 } };
    ns.nc.publish(subject, JSON.stringify({ v: 1, jobId: id, workspaceId: ws.id, events: [liveOnly] }));
    const got = await sse.until(isEvent(3));
    expect(JSON.parse(got.seen.at(-1)!.data!)).toMatchObject({ sequence: 3, type: 'job.progress' });
    sse.close();
  });

  it('sends keep-alives while idle, and on them catches up events NATS never delivered', async () => {
    const id = await submit();
    const sse = await stream(id);
    await sse.until(isEvent(1));
    expect((await sse.next())?.comment).toBe('keep-alive');
    await silent.write(queue(id));
    await silent.write(start(id));
    const got = await sse.until(isEvent(3));
    expect(sequences(got.seen)).toEqual([2, 3]);
    sse.close();
  });

  it('answers 204 to a resume after the terminal event, and replays a finished job then ends', async () => {
    const id = await submit();
    await api.call('POST', `/runner-jobs/${id}/cancel`, { token: ws.writer });
    const done = await stream(id, { 'last-event-id': '2' });
    expect(done.status).toBe(204);
    expect(await done.next()).toBeNull();
    // A cursor beyond its last event is refused as for a running job: a 204 would say it saw them all.
    const beyond = await api.call('GET', `/runner-jobs/${id}/events/stream?after=999`, { token: ws.reader });
    expect(beyond.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ path: 'after' }], detail: expect.stringMatching(/beyond the job's last event \(2\)/) });
    const replay = await stream(id);
    expect(sequences((await replay.until(() => false)).seen)).toEqual([1, 2]);
  });

  it('refuses a cursor beyond the job’s last event, which no stream could ever pass, and holds nothing open', async () => {
    const id = await submit();
    const consumers = await ephemeralConsumers();
    const header = await api.call('GET', `/runner-jobs/${id}/events/stream`, { token: ws.reader, headers: { 'last-event-id': '2147483647' } });
    expect(header.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ path: 'Last-Event-ID' }] });
    // Its one event so far is job.created (sequence 1).
    const query = await api.call('GET', `/runner-jobs/${id}/events/stream?after=2`, { token: ws.reader });
    expect(query.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ path: 'after' }], detail: expect.stringMatching(/beyond the job's last event \(1\)/) });
    expect(await ephemeralConsumers()).toBe(consumers);
    // At the last event, a stream waits for the next one as usual.
    const atLast = await stream(id, { 'last-event-id': '1' });
    expect(atLast.status).toBe(200);
    atLast.close();
  });

  it('refuses a Last-Event-ID that is not a sequence', async () => {
    const id = await submit();
    const res = await api.call('GET', `/runner-jobs/${id}/events/stream`, { token: ws.reader, headers: { 'last-event-id': 'abc' } });
    expect(res.body).toMatchObject({ status: 400, code: 'VALIDATION_FAILED', errors: [{ path: 'Last-Event-ID' }] });
  });

  it('counts open streams and deletes each stream’s consumer when its client leaves', async () => {
    const gauge = async () => (await api.server.deps.metrics.registry.getSingleMetric(MetricNames.sseClients)!.get()).values[0]!.value;
    const id = await submit();
    const sse = await stream(id);
    await sse.until(isEvent(1));
    expect(await gauge()).toBe(1);
    expect(await ephemeralConsumers()).toBe(1);
    sse.close();
    await api.server.deps.streams.closeAll();
    expect(await gauge()).toBe(0);
    expect(await ephemeralConsumers()).toBe(0);
  });

  it('ends open streams and deletes their consumers when the server stops', async () => {
    const other = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc });
    try {
      const id = await submit();
      const sse = await stream(id, {}, other.url);
      await sse.until(isEvent(1));
      expect(await ephemeralConsumers()).toBe(1);
      await other.stop();
      expect(await sse.until(() => false)).toMatchObject({ last: null });
      expect(await ephemeralConsumers()).toBe(0);
    } finally {
      await other.stop();
    }
  });

  it('drops a client that stops reading, once its writes have waited two keep-alive intervals', async () => {
    const id = await submit();
    await writer.write(queue(id));
    await writer.write(start(id));
    // ≈ 10 MB of output: more than the socket buffers on both sides hold for a client that reads nothing.
    await api.pool.query(
      `INSERT INTO job_events (job_id, sequence, id, workspace_id, type, actor, attempt, payload)
       SELECT $1, 4 + i, gen_random_uuid(), $2, 'step.output', 'worker:test', 1,
              jsonb_build_object('stream', 'stdout', 'offset', i * 16000, 'chunk', repeat('x', 16000))
       FROM generate_series(0, 639) AS i`,
      [id, ws.id],
    );
    const url = new URL(api.url);
    const socket = connect(Number(url.port), url.hostname);
    await once(socket, 'connect');
    socket.write(`GET /runner-jobs/${id}/events/stream HTTP/1.1\r\nhost: ${url.host}\r\nauthorization: Bearer ${ws.reader}\r\naccept: text/event-stream\r\n\r\n`);
    await once(socket, 'data');
    socket.pause();
    const streams = api.server.deps.streams;
    expect(streams.size).toBe(1);
    // The server gives the stream up (its consumer deleted, its place freed) while the client still reads nothing.
    while (streams.size > 0) await sleep(50);
    expect(await ephemeralConsumers()).toBe(0);
    socket.destroy();
  });

  it('answers 503 beyond SSE_MAX_CLIENTS streams', async () => {
    const small = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: { sseMaxClients: 1 } });
    try {
      const id = await submit();
      const first = await stream(id, {}, small.url);
      await first.until(isEvent(1));
      const second = await stream(id, {}, small.url);
      expect(second.status).toBe(503);
      expect(second.headers.get('retry-after')).toBe('1');
      first.close();
    } finally {
      await small.stop();
    }
  });

  it('leaves one workspace at most SSE_MAX_CLIENTS_PER_WORKSPACE streams (429), so another still follows its own jobs', async () => {
    const small = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: { sseMaxClients: 3, sseMaxClientsPerWorkspace: 2 } });
    try {
      const other = await small.workspace();
      const id = await submit();
      const theirs = (await small.call('POST', '/runner-jobs', { token: other.writer, body: spec })).body as { id: string };
      const held = [await stream(id, {}, small.url), await stream(id, {}, small.url)];
      for (const c of held) await c.until(isEvent(1));
      const third = await stream(id, {}, small.url);
      expect(third.status).toBe(429);
      expect(third.headers.get('retry-after')).toBe('2');
      const followed = await openSse(`${small.url}/runner-jobs/${theirs.id}/events/stream`, { authorization: `Bearer ${other.reader}` });
      expect(followed.status).toBe(200);
      // A place the workspace frees is its again.
      held[0]!.close();
      while (small.server.deps.streams.sizeOf(ws.id) > 1) await sleep(50);
      const again = await stream(id, {}, small.url);
      expect(again.status).toBe(200);
      for (const c of [held[1]!, followed, again]) c.close();
    } finally {
      await small.stop();
    }
  });

  it('counts a stream against SSE_MAX_CLIENTS from its check, so requests arriving together cannot pass the limit', async () => {
    const small = await startTestApi({ databaseUrl: db.url, namespace: ns.namespace, nc: ns.nc, settings: { sseMaxClients: 2 } });
    try {
      const id = await submit();
      const all = await Promise.all(Array.from({ length: 6 }, () => stream(id, {}, small.url)));
      expect(all.map((c) => c.status).sort()).toEqual([200, 200, 503, 503, 503, 503]);
      expect(small.server.deps.streams.size).toBe(2);
      for (const c of all) c.close();
    } finally {
      await small.stop();
    }
  });

  it('ends a stream whose token is revoked while it is open', async () => {
    const id = await submit();
    const { id: tokenId, token } = await ws.token(['jobs:read']);
    const open = () => openSse(`${api.url}/runner-jobs/${id}/events/stream`, { authorization: `Bearer ${token}` });
    const conn = await open();
    await conn.until(isEvent(1));
    await api.pool.query('UPDATE api_tokens SET revoked_at = now() WHERE id = $1', [tokenId]);
    // The harness verifies tokens on every request (AUTH_CACHE_MS 0); the stream within a keep-alive.
    expect((await conn.until(() => false)).last).toBeNull();
    expect((await open()).status).toBe(401);
  });

  it('polls PostgreSQL when no live consumer can be made', async () => {
    const blind = await startTestApi({
      databaseUrl: db.url,
      namespace: randomNamespace(), // never provisioned: its events stream does not exist
      nc: ns.nc,
      settings: { sseKeepaliveMs: 100 },
    });
    try {
      const id = await submit();
      const sse = await stream(id, {}, blind.url);
      await sse.until(isEvent(1));
      await writer.write(queue(id));
      await writer.write(start(id));
      await writer.write(complete(id));
      const rest = await sse.until(() => false);
      expect(sequences(rest.seen)).toEqual([2, 3, 4]);
    } finally {
      await blind.stop();
    }
  });

  it('makes its live consumer once NATS can, reading PostgreSQL for what committed without one', async () => {
    const namespace = randomNamespace(); // not provisioned yet: no consumer can be made
    const names = namesOf(namespace);
    const late = await startTestApi({ databaseUrl: db.url, namespace, nc: ns.nc, settings: { sseKeepaliveMs: 100 } });
    try {
      const id = await submit();
      const sse = await stream(id, {}, late.url);
      await sse.until(isEvent(1));
      await provision(ns.jsm, names);
      // Committed after the events stream exists, and never published: PostgreSQL's read has it.
      await silent.write(queue(id));
      await untilConsumers(names.streams.events, 1);
      expect(sequences((await sse.until(isEvent(2))).seen)).toEqual([2]);
      // An event only NATS has: only the live consumer made again can deliver it.
      const queued = (await api.call('GET', `/runner-jobs/${id}/events`, { token: ws.reader })).body as { items: JobEvent[] };
      const liveOnly: JobEvent = { ...queued.items[1]!, id: randomUUID(), sequence: 3, type: 'job.progress', payload: { progress: 10, completedSteps: 0, totalSteps: 1 } };
      ns.nc.publish(names.subjects.events(ws.id, id), JSON.stringify({ v: 1, jobId: id, workspaceId: ws.id, events: [liveOnly] }));
      const got = await sse.until(isEvent(3));
      expect(JSON.parse(got.last!.data!)).toMatchObject({ sequence: 3, type: 'job.progress' });
      sse.close();
      await untilConsumers(names.streams.events, 0);
    } finally {
      await late.stop();
      await deleteNamespace(ns.jsm, names);
    }
  });
});
