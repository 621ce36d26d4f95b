import { AckPolicy, jetstream, RetentionPolicy, type JetStreamManager } from '@nats-io/jetstream';
import { Objm } from '@nats-io/obj';
import { nanos } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bucketSettings, dispatchConsumer, schedulerConsumer, streamSettings, type Names } from '@gantry/contracts';
import { createTestNamespace, type TestNamespace } from '../../testkit/src/nats.js';
import {
  deleteNamespace,
  ensureConsumer,
  ensureObjectBucket,
  ensureStream,
  namespaceStreams,
  provision,
  ProvisionError,
} from './provision.js';

let ns: TestNamespace;
let jsm: JetStreamManager;
let n: Names;

beforeAll(async () => {
  ns = await createTestNamespace();
  ({ jsm, names: n } = ns);
});

afterAll(async () => {
  await ns.cleanup();
});

async function streamsOfNamespace(): Promise<string[]> {
  const all: string[] = [];
  for await (const name of jsm.streams.names()) all.push(name);
  return all.filter((s) => namespaceStreams(n).includes(s)).sort();
}

async function consumerNames(stream: string): Promise<string[]> {
  const all: string[] = [];
  for await (const ci of jsm.consumers.list(stream)) all.push(ci.name);
  return all.sort();
}

describe('provision', () => {
  it('creates every stream, consumer and bucket of the namespace', async () => {
    const results = await provision(jsm, n, { pools: ['default', 'gpu'] });
    expect(results.map((r) => [r.kind, r.name, r.outcome])).toEqual([
      ['stream', n.streams.commands, 'created'],
      ['stream', n.streams.dispatch, 'created'],
      ['stream', n.streams.events, 'created'],
      ['stream', n.streams.deadLetters, 'created'],
      ['consumer', `${n.streams.commands}/scheduler`, 'created'],
      ['consumer', `${n.streams.dispatch}/dispatch-default`, 'created'],
      ['consumer', `${n.streams.dispatch}/dispatch-gpu`, 'created'],
      ['bucket', n.buckets.artifacts, 'created'],
    ]);
    expect(await streamsOfNamespace()).toEqual([...namespaceStreams(n)].sort());

    const commands = await jsm.streams.info(n.streams.commands);
    expect(commands.config).toMatchObject({
      subjects: [n.subjects.commandsAll],
      retention: RetentionPolicy.Workqueue,
      duplicate_window: nanos(120_000),
      max_age: nanos(7 * 24 * 3_600_000),
      max_msg_size: 1024 * 1024,
    });
    const events = await jsm.streams.info(n.streams.events);
    expect(events.config.retention).toBe(RetentionPolicy.Limits);

    const scheduler = await jsm.consumers.info(n.streams.commands, 'scheduler');
    expect(scheduler.config).toMatchObject({
      durable_name: 'scheduler',
      filter_subject: n.subjects.commandsAll,
      ack_policy: AckPolicy.Explicit,
      max_deliver: 5,
      backoff: schedulerConsumer(n).backoffMs.map((ms) => nanos(ms)),
      max_ack_pending: 1_000,
    });
    const gpu = await jsm.consumers.info(n.streams.dispatch, 'dispatch-gpu');
    expect(gpu.config.filter_subject).toBe(n.subjects.dispatch('gpu'));

    const store = await new Objm(ns.nc).open(n.buckets.artifacts);
    expect((await store.status()).ttl).toBe(nanos(bucketSettings(n)[0]!.maxAgeMs));
  });

  it('changes nothing when run again', async () => {
    const results = await provision(jsm, n, { pools: ['default', 'gpu'] });
    expect(results.every((r) => r.outcome === 'unchanged')).toBe(true);
    expect(results).toHaveLength(8);
    expect(await consumerNames(n.streams.commands)).toEqual(['scheduler']);
    expect(await consumerNames(n.streams.dispatch)).toEqual(['dispatch-default', 'dispatch-gpu']);
  });

  it('updates a changed consumer setting in place, keeping its messages and its one consumer', async () => {
    const js = jetstream(ns.nc);
    await js.publish(n.subjects.command('submit'), '{}', { msgID: 'keep-me' });
    const before = await jsm.consumers.info(n.streams.commands, 'scheduler');
    expect(before.num_pending).toBe(1);

    const changed = await ensureConsumer(jsm, { ...schedulerConsumer(n), maxDeliver: 9 });
    expect(changed).toMatchObject({ outcome: 'updated', changed: ['max_deliver'] });
    const after = await jsm.consumers.info(n.streams.commands, 'scheduler');
    expect(after.config.max_deliver).toBe(9);
    expect(after.created).toEqual(before.created);
    expect(after.num_pending).toBe(1);
    expect(await consumerNames(n.streams.commands)).toEqual(['scheduler']);

    const restored = await provision(jsm, n, { pools: ['default', 'gpu'] });
    expect(restored.filter((r) => r.outcome !== 'unchanged')).toEqual([
      expect.objectContaining({ name: `${n.streams.commands}/scheduler`, outcome: 'updated', changed: ['max_deliver'] }),
    ]);
    expect((await jsm.consumers.info(n.streams.commands, 'scheduler')).config.max_deliver).toBe(5);
  });

  it('updates a changed stream setting without losing messages', async () => {
    const settings = streamSettings(n).find((s) => s.name === n.streams.commands)!;
    const result = await ensureStream(jsm, { ...settings, maxAgeMs: 3_600_000, description: 'shorter' });
    expect(result).toMatchObject({ outcome: 'updated', changed: ['description', 'max_age'] });
    const info = await jsm.streams.info(n.streams.commands);
    expect(info.config.max_age).toBe(nanos(3_600_000));
    expect(info.state.messages).toBe(1);
    expect((await ensureStream(jsm, settings)).outcome).toBe('updated');
  });

  it('refuses a change the server cannot make, naming the stream and the setting, and keeps the stream', async () => {
    const settings = streamSettings(n).find((s) => s.name === n.streams.commands)!;
    const attempt = ensureStream(jsm, { ...settings, retention: 'limits' });
    await expect(attempt).rejects.toBeInstanceOf(ProvisionError);
    await expect(attempt).rejects.toThrow(new RegExp(`stream ${n.streams.commands} \\(changing retention\\)`));
    const info = await jsm.streams.info(n.streams.commands);
    expect(info.config.retention).toBe(RetentionPolicy.Workqueue);
    expect(info.state.messages).toBe(1);
  });

  it('updates a bucket’s age limit', async () => {
    const [artifacts] = bucketSettings(n);
    const result = await ensureObjectBucket(jsm, { ...artifacts!, maxAgeMs: 86_400_000 });
    expect(result).toMatchObject({ kind: 'bucket', outcome: 'updated', changed: ['max_age'] });
    expect((await new Objm(ns.nc).open(n.buckets.artifacts).then((s) => s.status())).ttl).toBe(nanos(86_400_000));
    expect((await ensureObjectBucket(jsm, artifacts!)).outcome).toBe('updated');
  });

  it('refuses a dispatch consumer whose max_deliver does not exceed its backoff steps', async () => {
    await expect(ensureConsumer(jsm, { ...dispatchConsumer(n, 'gpu'), maxDeliver: 2 })).rejects.toThrow(RangeError);
    expect((await jsm.consumers.info(n.streams.dispatch, 'dispatch-gpu')).config.max_deliver).toBe(5);
  });
});

describe('deleteNamespace', () => {
  it('deletes every stream and bucket of the namespace, and nothing when run again', async () => {
    const other = await createTestNamespace({ provision: true });
    try {
      expect(await deleteNamespace(other.jsm, other.names)).toEqual(namespaceStreams(other.names));
      expect(await deleteNamespace(other.jsm, other.names)).toEqual([]);
      expect(await streamsOfNamespace()).toHaveLength(namespaceStreams(n).length);
    } finally {
      await other.cleanup();
    }
  });
});
