/**
 * The console's event-stream follower (console/sse.js), run in Node against answers the API
 * gives: it latched "ended" on any terminal event, so a retried job whose backlog held its first
 * attempt's job.failed stopped being followed at the first dropped connection.
 */
import { afterEach, describe, expect, it } from 'vitest';

interface JobEventLike {
  sequence: number;
  type: string;
}

type FollowEvents = (
  jobId: string,
  opts: { after?: number; signal: AbortSignal; onEvent: (e: JobEventLike) => void; onState?: (s: string) => void; minSilenceMs?: number },
) => Promise<number>;

const { followEvents } = (await import(new URL('../../console/sse.js', import.meta.url).href)) as { followEvents: FollowEvents };

/** An event-stream answer with `events`, ended by the server (a dropped connection, a restart). */
function stream(events: JobEventLike[]): Response {
  const body = `retry: 1\n\n${events.map((e) => `id: ${e.sequence}\ndata: ${JSON.stringify(e)}\n\n`).join('')}`;
  return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
}

const realFetch = globalThis.fetch;
afterEach(() => {
  globalThis.fetch = realFetch;
});

describe('followEvents', () => {
  it('keeps following a retried job past its first attempt’s terminal event, across a reconnect', async () => {
    Object.assign(globalThis, { sessionStorage: { getItem: () => 'token' }, localStorage: { getItem: () => null } });
    const answers = [
      stream([
        { sequence: 1, type: 'job.created' },
        { sequence: 2, type: 'job.failed' },
        { sequence: 3, type: 'job.queued' },
      ]),
      stream([
        { sequence: 4, type: 'job.started' },
        { sequence: 5, type: 'job.completed' },
      ]),
    ];
    const asked: (string | null)[] = [];
    globalThis.fetch = ((_url: string, init: { headers: Record<string, string> }) => {
      asked.push(init.headers['last-event-id'] ?? null);
      const next = answers.shift();
      return Promise.resolve(next ?? new Response(null, { status: 204 }));
    }) as typeof fetch;
    const seen: number[] = [];
    const last = await followEvents('00000000-0000-4000-8000-000000000001', { signal: new AbortController().signal, onEvent: (e) => seen.push(e.sequence) });
    expect(seen).toEqual([1, 2, 3, 4, 5]);
    expect(last).toBe(5);
    // The second connection resumed after what the first delivered; nothing was asked after the end.
    expect(asked).toEqual([null, '3']);
  });

  it('drops a connection that stays silent past three announced keep-alive intervals, and makes it again', async () => {
    Object.assign(globalThis, { sessionStorage: { getItem: () => 'token' }, localStorage: { getItem: () => null } });
    const cancelled: string[] = [];
    // Half-open: the answer came, then nothing, not even a keep-alive, and it never ends.
    const halfOpen = new Response(
      new ReadableStream({
        start: (c) => c.enqueue(new TextEncoder().encode('retry: 1\n\n')),
        cancel: () => void cancelled.push('half-open'),
      }),
      { status: 200, headers: { 'content-type': 'text/event-stream', 'gantry-keepalive-ms': '20' } },
    );
    const answers = [halfOpen, stream([{ sequence: 1, type: 'job.completed' }])];
    globalThis.fetch = (() => Promise.resolve(answers.shift() ?? new Response(null, { status: 204 }))) as unknown as typeof fetch;
    const states: string[] = [];
    const seen: number[] = [];
    await followEvents('00000000-0000-4000-8000-000000000001', {
      signal: new AbortController().signal,
      onEvent: (e) => seen.push(e.sequence),
      onState: (s) => states.push(s),
      minSilenceMs: 10,
    });
    expect({ seen, cancelled, states }).toEqual({ seen: [1], cancelled: ['half-open'], states: ['live', 'reconnecting', 'live', 'ended'] });
  });
});
