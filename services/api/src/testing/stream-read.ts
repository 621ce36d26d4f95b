/**
 * Test support: the messages a JetStream stream holds, read by sequence with direct gets (no
 * consumer to clean up), with their subject, headers and JSON body.
 */
import type { JetStreamManager } from '@nats-io/jetstream';

export interface StoredMessage {
  readonly seq: number;
  readonly subject: string;
  header(name: string): string | undefined;
  readonly body: unknown;
}

/** Every message of `stream` (optionally only on `subject`), in order. */
export async function streamMessages(jsm: JetStreamManager, stream: string, subject?: string): Promise<StoredMessage[]> {
  const { state } = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  if (state.messages === 0) return out;
  for (let seq = state.first_seq; seq <= state.last_seq; seq++) {
    const m = await jsm.streams.getMessage(stream, { seq }).catch(() => null);
    if (!m || (subject !== undefined && m.subject !== subject)) continue;
    out.push({ seq, subject: m.subject, header: (name) => m.header.get(name) || undefined, body: m.json() });
  }
  return out;
}
