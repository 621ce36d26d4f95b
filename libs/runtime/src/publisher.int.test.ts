import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers, MetricNames } from '@gantry/contracts';
import { createTestNamespace, type TestNamespace } from '../../testkit/src/nats.js';
import { startPrivateNats } from '../../testkit/src/private-nats.js';
import { loadConfig } from './config.js';
import { createLogger } from './logger.js';
import { connectNats } from './nats.js';
import { createPublisher } from './publisher.js';

let ns: TestNamespace;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
});

afterAll(async () => {
  await ns.cleanup();
});

async function streamMessages(stream: string): Promise<number> {
  return (await ns.jsm.streams.info(stream)).state.messages;
}

async function counterValue(registry: Registry, name: string, labels: Record<string, string>): Promise<number> {
  const metric = await registry.getSingleMetric(name)?.get();
  const entry = metric?.values.find((v) => Object.entries(labels).every(([k, val]) => v.labels[k] === val));
  return entry?.value ?? 0;
}

describe('createPublisher', () => {
  it('delivers N messages with their msgIds and headers, in order, with one ack each', async () => {
    const stream = ns.names.streams.events;
    const before = await streamMessages(stream);
    const publisher = createPublisher(ns.nc);
    const jobId = '00000000-0000-4000-8000-000000000001';
    const subject = ns.names.subjects.events('00000000-0000-4000-8000-00000000000a', jobId);
    const count = 500;
    const acks = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        publisher.publish(subject, JSON.stringify({ i }), { msgId: `${jobId}:${i}`, headers: { [Headers.requestId]: `r${i}` } }),
      ),
    );
    expect(acks.every((a) => a.stream === stream && !a.duplicate)).toBe(true);
    expect(new Set(acks.map((a) => a.seq)).size).toBe(count);
    expect(acks.map((a) => a.seq)).toEqual(acks.map((_, i) => acks[0]!.seq + i));
    expect(await streamMessages(stream)).toBe(before + count);

    const last = await ns.jsm.streams.getMessage(stream, { seq: acks[count - 1]!.seq });
    expect(last?.json()).toEqual({ i: count - 1 });
    expect(last?.header.get(Headers.msgId)).toBe(`${jobId}:${count - 1}`);
    expect(last?.header.get(Headers.requestId)).toBe(`r${count - 1}`);
    await publisher.close();
  });

  it('acknowledges a repeated msgId as a duplicate without storing it again', async () => {
    const stream = ns.names.streams.commands;
    const publisher = createPublisher(ns.nc);
    const subject = ns.names.subjects.command('submit');
    const first = await publisher.publish(subject, '{"v":1}', { msgId: 'cmd-1' });
    const before = await streamMessages(stream);
    const again = await publisher.publish(subject, '{"v":2}', { msgId: 'cmd-1' });
    expect(first.duplicate).toBe(false);
    expect(again).toMatchObject({ duplicate: true, seq: first.seq });
    expect(await streamMessages(stream)).toBe(before);
    await publisher.close();
  });

  it('keeps at most maxInFlight publishes waiting for an ack and queues the rest', async () => {
    const publisher = createPublisher(ns.nc, { maxInFlight: 4 });
    const subject = ns.names.subjects.dispatch('default');
    const pending = Array.from({ length: 20 }, (_, i) => publisher.publish(subject, 'x', { msgId: `bp-${i}` }));
    expect(publisher.inFlight).toBe(4);
    expect(publisher.waiting).toBe(16);
    const acks = await Promise.all(pending);
    expect(acks.map((a) => a.seq)).toEqual(acks.map((_, i) => acks[0]!.seq + i));
    expect(publisher.inFlight).toBe(0);
    expect(publisher.waiting).toBe(0);
    await publisher.close();
  });

  it('counts publishes by stream and outcome, and errors by reason', async () => {
    const registry = new Registry();
    const publisher = createPublisher(ns.nc, { registry, timeoutMs: 2_000 });
    const subject = ns.names.subjects.deadLetter('submit');
    const results = await publisher.publishAll([
      { subject, data: 'a', msgId: 'm-1' },
      { subject, data: 'b', msgId: 'm-2' },
      { subject, data: 'a', msgId: 'm-1' },
      { subject: `${ns.namespace}.nowhere`, data: 'c' },
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
    const stream = ns.names.streams.deadLetters;
    expect(await counterValue(registry, MetricNames.natsPublishes, { stream, outcome: 'stored' })).toBe(2);
    expect(await counterValue(registry, MetricNames.natsPublishes, { stream, outcome: 'duplicate' })).toBe(1);
    expect(await counterValue(registry, MetricNames.natsPublishErrors, { reason: 'no_stream' })).toBe(1);
    await publisher.close();
  });

  it('refuses publishes after close, once those started have settled', async () => {
    const publisher = createPublisher(ns.nc);
    const started = publisher.publish(ns.names.subjects.command('cancel'), '{}', { msgId: 'before-close' });
    await publisher.close();
    await expect(started).resolves.toMatchObject({ duplicate: false });
    await expect(publisher.publish(ns.names.subjects.command('cancel'), '{}')).rejects.toThrow('publisher is closed');
    await publisher.close();
  });

  it('times out a publish nobody acknowledges, and counts it', async () => {
    const registry = new Registry();
    const publisher = createPublisher(ns.nc, { registry, timeoutMs: 200 });
    // A plain subscriber: the subject has a responder, so no "no responders" answer, and no PubAck.
    const silent = ns.nc.subscribe(`${ns.namespace}.silent`);
    await expect(publisher.publish(`${ns.namespace}.silent`, 'x')).rejects.toMatchObject({ name: 'TimeoutError' });
    expect(await counterValue(registry, MetricNames.natsPublishErrors, { reason: 'timeout' })).toBe(1);
    // A late answer to a publish that timed out is ignored.
    silent.unsubscribe();
    await expect(publisher.publish(ns.names.subjects.command('cancel'), '{}')).resolves.toMatchObject({ duplicate: false });
    await publisher.close();
  });

  it('fails the publishes still waiting when the connection closes', async () => {
    const nc = await connectNats(loadConfig(), { name: 'publisher-close-test', logger: createLogger({ service: 'test', version: '0', level: 'silent' }) });
    const publisher = createPublisher(nc, { timeoutMs: 60_000 });
    nc.subscribe(`${ns.namespace}.silent-too`);
    const waiting = publisher.publish(`${ns.namespace}.silent-too`, 'x');
    await nc.flush();
    await nc.close();
    await expect(waiting).rejects.toMatchObject({ name: 'ClosedConnectionError' });
    await publisher.close();
  });

  it('fails the publishes still waiting when the connection drops, without waiting for their timeout', async () => {
    const server = await startPrivateNats();
    const logger = createLogger({ service: 'test', version: '0', level: 'silent' });
    const nc = await connectNats(loadConfig({}, { NATS_URL: server.url }), { name: 'publisher-drop-test', logger, reconnectWaitMs: 100 });
    try {
      const publisher = createPublisher(nc, { timeoutMs: 600_000 });
      nc.subscribe('silent.subject');
      const outcome = publisher.publish('silent.subject', 'x').then(
        () => 'acknowledged',
        (err: unknown) => err,
      );
      await nc.flush();
      const reconnected = (async () => {
        for await (const status of nc.status()) if (status.type === 'reconnect') return;
      })();
      await server.kill();
      expect(await outcome).toMatchObject({ name: 'ClosedConnectionError', message: 'the NATS connection dropped' });
      // Back on the restarted server, answers reach the publisher's subscription again.
      await server.restart();
      await reconnected;
      await expect(publisher.publish('nobody.listens', 'y')).rejects.toMatchObject({ name: 'NoRespondersError' });
      await publisher.close();
    } finally {
      await nc.close();
      await server.cleanup();
    }
  });
});
