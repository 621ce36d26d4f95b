/**
 * Test support: a Server-Sent Events client on fetch that hands over one message at a time,
 * so a test can read a stream exactly as far as it needs and drop the connection.
 */

/** One SSE message, or a comment. */
export interface SseMessage {
  readonly id?: string;
  readonly data?: string;
  readonly retry?: number;
  readonly comment?: string;
}

export interface SseConnection {
  readonly status: number;
  readonly headers: Headers;
  /** The next message; null when the server ended the stream. */
  next(): Promise<SseMessage | null>;
  /** Reads messages until `stop` accepts one (returned) or the stream ends (null). */
  until(stop: (m: SseMessage) => boolean): Promise<{ seen: SseMessage[]; last: SseMessage | null }>;
  /** Drops the connection. */
  close(): void;
}

function parse(block: string): SseMessage {
  const m: { id?: string; data?: string; retry?: number; comment?: string } = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) m.comment = line.slice(1).trim();
    else if (line.startsWith('id: ')) m.id = line.slice(4);
    else if (line.startsWith('data: ')) m.data = m.data === undefined ? line.slice(6) : `${m.data}\n${line.slice(6)}`;
    else if (line.startsWith('retry: ')) m.retry = Number(line.slice(7));
  }
  return m;
}

/** Opens `url` as an event stream. */
export async function openSse(url: string, headers: Record<string, string>): Promise<SseConnection> {
  const abort = new AbortController();
  const res = await fetch(url, { headers: { accept: 'text/event-stream', ...headers }, signal: abort.signal });
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let ended = false;

  const next = async (): Promise<SseMessage | null> => {
    for (;;) {
      const cut = buffer.indexOf('\n\n');
      if (cut >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        return parse(block);
      }
      if (ended || !reader) return null;
      const chunk = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (chunk.done) ended = true;
      else buffer += decoder.decode(chunk.value, { stream: true });
    }
  };

  return {
    status: res.status,
    headers: res.headers,
    next,
    async until(stop) {
      const seen: SseMessage[] = [];
      for (;;) {
        const m = await next();
        if (m === null) return { seen, last: null };
        seen.push(m);
        if (stop(m)) return { seen, last: m };
      }
    },
    close: () => abort.abort(),
  };
}

/** The sequences of the event messages in `messages`. */
export function sequences(messages: readonly SseMessage[]): number[] {
  return messages.filter((m) => m.id !== undefined).map((m) => Number(m.id));
}
