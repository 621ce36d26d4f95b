/**
 * Follows a job's event stream (`GET /runner-jobs/:id/events/stream`). EventSource cannot send
 * an Authorization header, so this reads the Server-Sent Events from `fetch()` with a stream
 * reader: same format, same `Last-Event-ID` resume. It reconnects after the server's `retry:`
 * hint until the job's terminal event has arrived (or the server answers 204: nothing follows).
 */
import { ApiError, authHeaders, jobPath } from './api.js';
import { sleep } from './dom.js';

const TERMINAL = new Set(['job.completed', 'job.failed', 'job.cancelled']);

/**
 * How long a stream may stay silent before it is taken for dead and reconnected: three of the
 * keep-alive intervals the server announces (`Gantry-Keepalive-Ms`), at least `minMs`. A
 * connection a proxy or a sleeping laptop left half-open would otherwise show "live" for ever.
 */
function silenceLimitMs(res, minMs) {
  const keepaliveMs = Number(res.headers.get('gantry-keepalive-ms'));
  return Math.max(minMs, Number.isSafeInteger(keepaliveMs) && keepaliveMs > 0 ? 3 * keepaliveMs : 0);
}

/**
 * Reads SSE messages from a fetch body; calls `onMessage({id, data})` per message, `onRetry(ms)`.
 * Returns when the body ends, or when nothing arrived for `silentMs` (the connection is dropped).
 */
async function readMessages(body, onMessage, onRetry, silentMs) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  let id;
  let data = [];
  for (;;) {
    let timer;
    const silence = new Promise((resolve) => { timer = setTimeout(() => resolve({ silent: true }), silentMs); });
    const read = await Promise.race([reader.read(), silence]);
    clearTimeout(timer);
    if (read.silent) {
      await reader.cancel().catch(() => {});
      return;
    }
    const { value, done } = read;
    if (done) return;
    buffer += value;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const line = buffer.slice(0, nl).replace(/\r$/, '');
      buffer = buffer.slice(nl + 1);
      if (line === '') {
        if (data.length > 0) onMessage({ id, data: data.join('\n') });
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue;
      const colon = line.indexOf(':');
      const field = colon < 0 ? line : line.slice(0, colon);
      const text = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'id') id = text;
      else if (field === 'data') data.push(text);
      else if (field === 'retry' && /^\d+$/.test(text)) onRetry(Number(text));
    }
  }
}

/**
 * Follows job `jobId`'s events after sequence `after` until its terminal event or `signal`.
 * `onEvent(event)` gets each JobEvent in order; `onState(state)` gets 'live', 'reconnecting'
 * and 'ended'. Rejects with an {@link ApiError} the stream cannot recover from (401, 403, 404).
 * A connection silent for longer than three announced keep-alive intervals (at least
 * `minSilenceMs`, 45 s) is dropped and made again.
 * @returns {Promise<number>} the last sequence received
 */
export async function followEvents(jobId, { after = 0, signal, onEvent, onState = () => {}, minSilenceMs = 45_000 }) {
  let last = after;
  let retryMs = 2000;
  let ended = false;
  while (!signal.aborted && !ended) {
    try {
      const headers = authHeaders({ accept: 'text/event-stream', ...(last > 0 ? { 'last-event-id': String(last) } : {}) });
      const res = await fetch(jobPath(jobId, '/events/stream'), { headers, cache: 'no-store', signal });
      if (res.status === 204) break;
      if (!res.ok) throw ApiError.from(res, await res.text());
      onState('live');
      await readMessages(
        res.body,
        (message) => {
          const event = JSON.parse(message.data);
          if (typeof event.sequence !== 'number' || event.sequence <= last) return;
          last = event.sequence;
          // Ended while the latest event is terminal: a retried job's backlog holds its earlier
          // attempts' ends, and a later event (the retry's job.queued) means it goes on.
          ended = TERMINAL.has(event.type);
          onEvent(event);
        },
        (ms) => { retryMs = ms; },
        silenceLimitMs(res, minSilenceMs),
      );
    } catch (err) {
      if (signal.aborted) break;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
    }
    if (ended || signal.aborted) break;
    onState('reconnecting');
    await sleep(retryMs, signal);
  }
  if (!signal.aborted) onState('ended');
  return last;
}
