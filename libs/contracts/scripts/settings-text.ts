/** Stream and consumer settings as one sentence each, for the AsyncAPI descriptions. */
import type { ConsumerSettings, StreamSettings } from '../src/streams.js';

const SECOND = 1000;
const UNITS_MS: readonly [number, string][] = [
  [24 * 3600 * SECOND, 'd'],
  [3600 * SECOND, 'h'],
  [60 * SECOND, 'min'],
  [SECOND, 's'],
];
const UNITS_BYTES: readonly [number, string][] = [
  [1024 ** 3, 'GiB'],
  [1024 ** 2, 'MiB'],
  [1024, 'KiB'],
];

/** `120000` → `2 min`; falls back to milliseconds when no unit divides it. */
export function formatDuration(ms: number): string {
  const unit = UNITS_MS.find(([size]) => ms >= size && ms % size === 0);
  return unit ? `${ms / unit[0]} ${unit[1]}` : `${ms} ms`;
}

/** `2097152` → `2 MiB`; `-1` → `unbounded`. */
export function formatBytes(bytes: number): string {
  if (bytes < 0) return 'unbounded';
  const unit = UNITS_BYTES.find(([size]) => bytes >= size && bytes % size === 0);
  return unit ? `${bytes / unit[0]} ${unit[1]}` : `${bytes} B`;
}

export function describeStream(s: StreamSettings): string {
  const maxAge = s.maxAgeMs === 0 ? 'none' : formatDuration(s.maxAgeMs);
  return (
    `Stream ${s.name} (${s.retention} retention, ${s.storage} storage, subjects ${s.subjects.join(', ')}): ` +
    `duplicate window ${formatDuration(s.duplicateWindowMs)}, max age ${maxAge}, ` +
    `max bytes ${formatBytes(s.maxBytes)}, max message ${formatBytes(s.maxMsgBytes)}, discard ${s.discard}. ` +
    s.description
  );
}

export function describeConsumer(c: ConsumerSettings): string {
  return (
    `Durable consumer ${c.durableName} on ${c.stream} (filter ${c.filterSubject}): ` +
    `ack wait ${formatDuration(c.ackWaitMs)}, at most ${c.maxDeliver} deliveries, ` +
    `redelivery backoff ${c.backoffMs.map(formatDuration).join(', ')}, ` +
    `max ack pending ${c.maxAckPending}. ${c.description}`
  );
}
