import { AckPolicy, DiscardPolicy, RetentionPolicy, StorageType } from '@nats-io/jetstream';
import { describe, expect, it } from 'vitest';
import { dispatchConsumer, names, schedulerConsumer, streamSettings } from '@gantry/contracts';
import { ackWaitEqual, changedFields, toConsumerConfig, toStreamConfig } from './jetstream-config.js';

const n = names('unit');
const MS = 1_000_000;

describe('toStreamConfig', () => {
  it('maps Gantry settings onto the NATS API in nanoseconds', () => {
    const [commands] = streamSettings(n);
    const cfg = toStreamConfig(commands!, 3);
    expect(cfg).toEqual({
      name: 'UNIT_COMMANDS',
      description: commands!.description,
      subjects: ['unit.cmd.>'],
      retention: RetentionPolicy.Workqueue,
      storage: StorageType.File,
      duplicate_window: 120_000 * MS,
      max_age: 7 * 24 * 3_600_000 * MS,
      max_bytes: -1,
      max_msg_size: 1024 * 1024,
      discard: DiscardPolicy.Old,
      num_replicas: 3,
    });
  });

  it('maps a limits stream', () => {
    const events = streamSettings(n).find((s) => s.name === n.streams.events)!;
    expect(toStreamConfig(events).retention).toBe(RetentionPolicy.Limits);
  });
});

describe('toConsumerConfig', () => {
  it('builds a durable pull consumer with one filter subject and explicit acks', () => {
    const cfg = toConsumerConfig(schedulerConsumer(n));
    expect(cfg).toMatchObject({
      durable_name: 'scheduler',
      filter_subject: 'unit.cmd.>',
      ack_policy: AckPolicy.Explicit,
      ack_wait: 30_000 * MS,
      max_deliver: 5,
      backoff: [1_000 * MS, 5_000 * MS, 15_000 * MS, 30_000 * MS],
      max_ack_pending: 1_000,
    });
    expect(cfg).not.toHaveProperty('filter_subjects');
    expect(cfg).not.toHaveProperty('deliver_subject');
  });

  it('refuses max_deliver not above the number of backoff steps', () => {
    const settings = { ...dispatchConsumer(n, 'gpu'), maxDeliver: 3 };
    expect(() => toConsumerConfig(settings)).toThrow(/maxDeliver must exceed the 3 backoff steps/);
  });
});

describe('changedFields', () => {
  it('lists only the settings that differ', () => {
    const desired = { a: 1, subjects: ['x', 'y'], description: 'd' };
    expect(changedFields(desired, { a: 1, subjects: ['x', 'y'], description: 'd', extra: true } as never)).toEqual([]);
    expect(changedFields(desired, { a: 2, subjects: ['x'], description: 'd' })).toEqual(['a', 'subjects']);
  });

  it('treats an empty and a missing description as equal', () => {
    expect(changedFields({ description: '' }, {})).toEqual([]);
  });

  it('accepts the first backoff step as the server’s ack_wait', () => {
    const eq = ackWaitEqual([1_000, 5_000]);
    expect(changedFields({ ack_wait: 30_000 }, { ack_wait: 1_000 }, { ack_wait: eq })).toEqual([]);
    expect(changedFields({ ack_wait: 30_000 }, { ack_wait: 2_000 }, { ack_wait: eq })).toEqual(['ack_wait']);
  });
});
