/**
 * The Server-Sent Events wire format (WHATWG HTML, "Server-sent events"): each JobEvent is one
 * message whose `id` is its sequence (what a reconnecting client sends back as `Last-Event-ID`)
 * and whose `data` is the event as JSON on one line; comments keep idle connections open.
 */
import { GantryError, type JobEvent } from '@gantry/contracts';

/** The media type of an event stream. */
export const EVENT_STREAM_CONTENT_TYPE = 'text/event-stream; charset=utf-8';

/** A keep-alive: a comment line, ignored by clients. */
export const KEEPALIVE = ': keep-alive\n\n';

/** The `retry:` field: how long a client waits before reconnecting, milliseconds. */
export function retryField(ms: number): string {
  return `retry: ${ms}\n\n`;
}

/** One JobEvent as an SSE message. */
export function eventMessage(event: JobEvent): string {
  return `id: ${event.sequence}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** The sequence a `Last-Event-ID` header names; VALIDATION_FAILED when it is not one. */
export function parseLastEventId(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const text = (Array.isArray(value) ? value[0] ?? '' : value).trim();
  if (text === '') return undefined;
  const n = /^\d{1,10}$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(n) || n > 2 ** 31 - 1) {
    const message = 'must be the sequence of the last event received';
    throw new GantryError('VALIDATION_FAILED', `Last-Event-ID ${message}`, { issues: [{ path: 'Last-Event-ID', message }] });
  }
  return n;
}
