/**
 * Dead letters: a refused or undeliverable command is copied to `<ns>.dlq.<kind>` with its
 * original headers (minus the token or grant, which never leave the commands stream, and
 * JetStream's own), its
 * `Nats-Msg-Id` as `Gantry-Original-Msg-Id` (for tracing) and the reason, counted, and acked,
 * so it never blocks the commands behind it. `gantry dead-letters` lists and replays them.
 */
import type { MsgHdrs } from '@nats-io/transport-node';
import { COMMAND_KINDS, type ErrorCode, Headers, Limits, type Names } from '@gantry/contracts';
import type { Logger, Publisher } from '@gantry/runtime';
import type { SchedulerMetrics } from '../metrics.js';

/**
 * Headers not copied from the command: a token or grant never leaves the commands stream, and an
 * inherited `Gantry-Original-Msg-Id` would name some other message than this command. Nor is
 * any of JetStream's own (`Nats-*`), which the server stores with the command and would apply
 * to the dead letter's publish: an expectation of the commands stream (`Nats-Expected-Stream`,
 * `-Last-Sequence`…) would refuse it every time, a rollup would purge the dead letters before
 * it. The dead letter gets its own `Nats-Msg-Id`; the command's travels as
 * `Gantry-Original-Msg-Id`.
 */
function dropped(key: string): boolean {
  const lower = key.toLowerCase();
  return lower.startsWith('nats-') || DROPPED_GANTRY_HEADERS.has(lower);
}

const DROPPED_GANTRY_HEADERS = new Set([Headers.token, Headers.grant, Headers.originalMsgId].map((h) => h.toLowerCase()));

/**
 * Bytes of the original headers a dead letter copies at most. JetStream refuses a message whose
 * headers pass 64 KiB, and the dead letter adds its own (the reason alone can be 6 KB), so a
 * command whose headers were near the limit could otherwise never be dead-lettered.
 */
export const MAX_COPIED_HEADER_BYTES = 32 * 1024;

/** What is known of the message being dead-lettered. */
export interface DeadLetterSource {
  subject: string;
  data: Uint8Array;
  headers?: MsgHdrs | undefined;
  streamSequence: number;
  deliveries: number;
}

export interface DeadLetterer {
  (source: DeadLetterSource, code: ErrorCode, reason: string): Promise<void>;
}

/** The command kind a subject names (`<ns>.cmd.<kind>`), or `unknown`. */
export function commandKindOf(names: Names, subject: string): string {
  const prefix = `${names.namespace}.cmd.`;
  return subject.startsWith(prefix) ? subject.slice(prefix.length) : 'unknown';
}

/**
 * The `command` label of a subject's metrics: its kind when it is one of {@link COMMAND_KINDS},
 * `unknown` otherwise. Senders choose subjects: each bogus one must not make a series of its own.
 */
export function commandLabelOf(names: Names, subject: string): string {
  const kind = commandKindOf(names, subject);
  return (COMMAND_KINDS as readonly string[]).includes(kind) ? kind : 'unknown';
}

export function createDeadLetterer(opts: { publisher: Publisher; names: Names; metrics: SchedulerMetrics; logger: Logger }): DeadLetterer {
  const { publisher, names, metrics, logger } = opts;
  return async (source, code, reason) => {
    const kind = commandKindOf(names, source.subject);
    const headers = copiedHeaders(source.headers);
    const msgId = source.headers?.get(Headers.msgId);
    if (msgId) headers[Headers.originalMsgId] = msgId;
    headers[Headers.deadLetterCode] = code;
    headers[Headers.deadLetterReason] = reason.slice(0, Limits.maxReasonLength).replace(/[\r\n]+/g, ' ');
    headers[Headers.originalSubject] = source.subject;
    headers[Headers.originalSequence] = String(source.streamSequence);
    headers[Headers.deliveries] = String(source.deliveries);
    const data = source.data.byteLength <= Limits.maxCommandBytes ? source.data : source.data.subarray(0, Limits.maxCommandBytes);
    // The id makes a repeat of this dead-lettering (after a crash before the ack) a no-op.
    await publisher.publish(names.subjects.deadLetter(kind), data, { headers, msgId: `dlq:${source.streamSequence}` });
    metrics.deadLetters.inc({ command: commandLabelOf(names, source.subject), reason: code });
    logger.warn({ subject: source.subject, seq: source.streamSequence, code, reason }, 'command dead-lettered');
  };
}

/**
 * The original headers a dead letter carries: all but the {@link dropped} ones, and, when they
 * pass {@link MAX_COPIED_HEADER_BYTES}, without the largest until they fit, named in
 * `Gantry-Dropped-Headers`.
 */
function copiedHeaders(original: MsgHdrs | undefined): Record<string, string> {
  const copied: { key: string; value: string; bytes: number }[] = [];
  let bytes = 0;
  for (const [key, values] of original ?? []) {
    if (dropped(key)) continue;
    const value = values.join(',');
    copied.push({ key, value, bytes: headerBytes(key, value) });
    bytes += copied.at(-1)!.bytes;
  }
  const left: string[] = [];
  if (bytes > MAX_COPIED_HEADER_BYTES) {
    copied.sort((a, b) => b.bytes - a.bytes);
    while (bytes > MAX_COPIED_HEADER_BYTES) {
      const largest = copied.shift()!;
      bytes -= largest.bytes;
      left.push(largest.key);
    }
  }
  const headers = Object.fromEntries(copied.map((h) => [h.key, h.value]));
  if (left.length > 0) headers[Headers.droppedHeaders] = left.join(',').slice(0, 1024);
  return headers;
}

/** A header's bytes on the wire: `Name: value\r\n`. */
function headerBytes(key: string, value: string): number {
  return Buffer.byteLength(key) + Buffer.byteLength(value) + 4;
}
