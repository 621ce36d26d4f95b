/**
 * A job's events, live, over `GET /runner-jobs/:id/events/stream` (Server-Sent Events). The
 * stream sends what is stored after a sequence, then events as they happen, and ends after the
 * job's terminal event. When the connection drops, or goes silent for longer than
 * `idleTimeoutMs` or three of the keep-alive intervals the server announces
 * (`Gantry-Keepalive-Ms`, its SSE_KEEPALIVE_MS), whichever is longer, this client
 * reconnects after the server's `retry:` hint with `Last-Event-ID` set to the last sequence it
 * yielded, so no event is lost or repeated. A 204 means the job has finished and nothing follows.
 * After `maxFailures` connections in a row that fail, or end before delivering an event or a
 * keep-alive, it gives up (exit code 5). A connection that did deliver one was working: a proxy
 * that cuts idle connections may end any number of them while a job waits for hours.
 */
import { HttpHeaders, TERMINAL_EVENT_TYPES, type JobEvent } from '@gantry/contracts';
import { CliError, EXIT } from '../exit.js';
import { apiErrorOf, jobPath, type ApiClient } from './client.js';

/** Options of {@link jobEvents}. */
export interface JobEventsOptions {
  readonly client: ApiClient;
  readonly jobId: string;
  /** Yield events after this sequence; default 0 (all of them). */
  readonly after?: number;
  readonly signal?: AbortSignal;
  /** Reconnect when nothing, not even a keep-alive, arrived for this long (or three announced keep-alive intervals, if longer); default 45 s. */
  readonly idleTimeoutMs?: number;
  /** Consecutive connections that deliver nothing, not even a keep-alive, before giving up; default 10. */
  readonly maxFailures?: number;
  /** Wait before reconnecting until the server sends a `retry:` hint; default 1 s. */
  readonly retryMs?: number;
  /** Told about every reconnect (the CLI prints it on stderr). */
  readonly onReconnect?: (reason: string, lastSequence: number) => void;
}

const TERMINAL: readonly string[] = TERMINAL_EVENT_TYPES;

/** One SSE message's fields. */
interface SseMessage {
  id?: string;
  data?: string;
  retry?: number;
}

/** Splits an SSE block into its fields (WHATWG "interpret an event stream"). */
export function parseSseBlock(block: string): SseMessage {
  const m: SseMessage = {};
  for (const line of block.split(/\r?\n/)) {
    if (line === '' || line.startsWith(':')) continue;
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id') m.id = value;
    else if (field === 'data') m.data = m.data === undefined ? value : `${m.data}\n${value}`;
    else if (field === 'retry' && /^\d+$/.test(value)) m.retry = Number(value);
  }
  return m;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Yields the job's events in sequence order until its terminal event (or `signal` aborts). */
export async function* jobEvents(opts: JobEventsOptions): AsyncGenerator<JobEvent> {
  const { client, jobId, signal } = opts;
  const idleTimeoutMs = opts.idleTimeoutMs ?? 45_000;
  const maxFailures = opts.maxFailures ?? 10;
  let retryMs = opts.retryMs ?? 1_000;
  let last = opts.after ?? 0;
  let lastType: string | undefined;
  let failures = 0;
  for (;;) {
    if (signal?.aborted) return;
    const abort = new AbortController();
    const onAbort = () => abort.abort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let idle: NodeJS.Timeout | undefined;
    let silentMs = idleTimeoutMs;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => abort.abort(), silentMs);
    };
    let reason = 'the stream ended before the job did';
    /** Whether this connection delivered an event or a keep-alive: it was working. */
    let working = false;
    try {
      touch();
      const headers: Record<string, string> = { accept: 'text/event-stream', 'last-event-id': String(last) };
      const res = await client.fetch(jobPath(jobId, 'events', 'stream'), { headers, signal: abort.signal });
      if (res.status === 204) return;
      if (!res.ok) throw await apiErrorOf(res);
      if (!res.body) throw new CliError('the event stream answered without a body', EXIT.unavailable);
      // A server that sends its keep-alives less often than our silence allows is not dead.
      const keepaliveMs = Number(res.headers.get(HttpHeaders.keepaliveMs));
      if (Number.isSafeInteger(keepaliveMs) && keepaliveMs > 0) silentMs = Math.max(idleTimeoutMs, 3 * keepaliveMs);
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
        touch();
        buffer += decoder.decode(chunk, { stream: true }).replace(/\r\n/g, '\n');
        for (let cut = buffer.indexOf('\n\n'); cut >= 0; cut = buffer.indexOf('\n\n')) {
          const block = buffer.slice(0, cut);
          const message = parseSseBlock(block);
          buffer = buffer.slice(cut + 2);
          if (block.startsWith(':')) working = true; // a keep-alive
          if (message.retry !== undefined) retryMs = message.retry;
          if (message.id === undefined || message.data === undefined) continue;
          const event = JSON.parse(message.data) as JobEvent;
          if (event.sequence <= last) continue;
          last = event.sequence;
          lastType = event.type;
          working = true;
          yield event;
        }
      }
      if (lastType !== undefined && TERMINAL.includes(lastType)) return;
    } catch (err) {
      if (signal?.aborted) return;
      if (err instanceof CliError && err.exitCode !== EXIT.unavailable) throw err;
      reason = abort.signal.aborted ? `no data for ${silentMs} ms` : `the connection failed (${(err as Error).message})`;
    } finally {
      clearTimeout(idle);
      signal?.removeEventListener('abort', onAbort);
      abort.abort();
    }
    failures = working ? 0 : failures + 1;
    if (failures >= maxFailures) {
      throw new CliError(`gave up following job ${jobId} after ${failures} failed connections: ${reason}`, EXIT.unavailable);
    }
    opts.onReconnect?.(reason, last);
    await sleep(retryMs, signal);
  }
}
