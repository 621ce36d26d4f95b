/**
 * Gantry's stream and consumer settings (milliseconds, bytes) as NATS API configurations
 * (nanoseconds), and the comparison that decides whether a provisioned resource needs an
 * update. Pure: no I/O.
 */
import {
  AckPolicy,
  DeliverPolicy,
  DiscardPolicy,
  RetentionPolicy,
  StorageType,
  type ConsumerConfig,
  type StreamConfig,
} from '@nats-io/jetstream';
import { nanos } from '@nats-io/transport-node';
import type { ConsumerSettings, StreamSettings } from '@gantry/contracts';

/** The NATS stream configuration of Gantry stream settings. */
export function toStreamConfig(s: StreamSettings, replicas = 1): Partial<StreamConfig> & { name: string } {
  return {
    name: s.name,
    description: s.description,
    subjects: [...s.subjects],
    retention: s.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits,
    storage: StorageType.File,
    duplicate_window: nanos(s.duplicateWindowMs),
    max_age: nanos(s.maxAgeMs),
    max_bytes: s.maxBytes,
    max_msg_size: s.maxMsgBytes,
    discard: s.discard === 'old' ? DiscardPolicy.Old : DiscardPolicy.New,
    num_replicas: replicas,
  };
}

/** The NATS durable pull-consumer configuration of Gantry consumer settings. */
export function toConsumerConfig(c: ConsumerSettings): Partial<ConsumerConfig> & { durable_name: string } {
  if (c.maxDeliver <= c.backoffMs.length) {
    throw new RangeError(`consumer ${c.durableName}: maxDeliver must exceed the ${c.backoffMs.length} backoff steps`);
  }
  return {
    durable_name: c.durableName,
    description: c.description,
    filter_subject: c.filterSubject,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(c.ackWaitMs),
    max_deliver: c.maxDeliver,
    backoff: c.backoffMs.map((ms) => nanos(ms)),
    max_ack_pending: c.maxAckPending,
  };
}

function same(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    const x = Array.isArray(a) ? a : [];
    const y = Array.isArray(b) ? b : [];
    return x.length === y.length && x.every((v, i) => v === y[i]);
  }
  return a === b || ((a === undefined || a === '') && (b === undefined || b === ''));
}

/** The keys of `desired` whose value differs in `actual`; `equal` overrides the comparison. */
export function changedFields<T extends object>(
  desired: T,
  actual: Partial<Record<keyof T, unknown>>,
  equal: Partial<Record<keyof T, (want: unknown, have: unknown) => boolean>> = {},
): (keyof T & string)[] {
  return (Object.keys(desired) as (keyof T & string)[]).filter((key) => {
    const eq = equal[key] ?? same;
    return !eq(desired[key], actual[key]);
  });
}

/**
 * Compares `ack_wait` knowing that the server replaces it with the first backoff step when
 * there is a backoff: either value means unchanged.
 */
export function ackWaitEqual(backoff: readonly number[]) {
  return (want: unknown, have: unknown) => have === want || (backoff.length > 0 && have === backoff[0]);
}

