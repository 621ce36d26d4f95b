/**
 * A command the consumer gave up (its deliveries used up) is dead-lettered from the server's
 * MAX_DELIVERIES advisory, which the server sends once, on core NATS. When that advisory was
 * missed (no leader listened at that moment) or its dead-lettering kept failing, the command
 * stayed in the commands stream, neither handled nor dead-lettered, where nothing would
 * deliver it again. The leader's sweep of given-up commands now finds and dead-letters it.
 *
 * Here the scheduler's consumer of a provisioned namespace gives a command up after two
 * deliveries, naked by the test, with no leader running: its advisory reaches nobody.
 */
import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Headers } from '@gantry/contracts';
import { createLogger, createMetrics, createPublisher, type Publisher } from '@gantry/runtime';
import { createTestNamespace, type TestNamespace } from '@gantry/testkit';
import { schedulerMetrics } from '../metrics.js';
import { deadLetters } from '../testing/commands.js';
import { sweepGivenUp } from './advisories.js';
import { createDeadLetterer } from './dead-letter.js';

let ns: TestNamespace;
let publisher: Publisher;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
  publisher = createPublisher(ns.nc);
  // Gives a command up after two deliveries, the second soon after the first.
  const { config } = await ns.jsm.consumers.info(ns.names.streams.commands, ns.names.consumers.scheduler);
  await ns.jsm.consumers.update(ns.names.streams.commands, ns.names.consumers.scheduler, { ...config, max_deliver: 2, backoff: [100_000_000] });
});
afterAll(async () => {
  await publisher?.close();
  await ns?.cleanup();
});

describe('the sweep of given-up commands', () => {
  it('dead-letters a command the server gave up, and leaves alone one held or not yet given up', async () => {
    const logger = createLogger({ service: 'test', version: '0', level: 'silent' });
    const deadLetter = createDeadLetterer({ publisher, names: ns.names, metrics: schedulerMetrics(createMetrics({ service: 'test', version: '0', defaultMetrics: false }).registry), logger });
    const subject = ns.names.subjects.command('cancel');
    const js = jetstream(ns.nc);
    await js.publish(subject, JSON.stringify({ v: 1, kind: 'cancel', id: randomUUID(), workspaceId: randomUUID(), jobId: randomUUID() }), { msgID: 'given-up' });
    await js.publish(subject, JSON.stringify({ v: 1, kind: 'cancel', id: randomUUID(), workspaceId: randomUUID(), jobId: randomUUID() }), { msgID: 'held' });
    const consumer = await js.consumers.get(ns.names.streams.commands, ns.names.consumers.scheduler);
    // The first is naked on both its deliveries; the second is received and kept unacked (held).
    let naks = 0;
    let held = 0;
    while (naks < 2) {
      const batch = await consumer.fetch({ max_messages: 2, expires: 1_000 });
      for await (const m of batch) {
        if (m.headers?.get(Headers.msgId) === 'given-up') {
          m.nak();
          naks += 1;
        } else held = m.seq;
      }
    }
    const sweep = (isHeld: (seq: number) => boolean) => sweepGivenUp({ jsm: ns.jsm, names: ns.names, deadLetter, logger, isHeld, minAgeMs: 0 });
    // The server gives it up after its second delivery; until then the sweep finds nothing.
    let swept = 0;
    for (const deadline = Date.now() + 10_000; swept === 0 && Date.now() < deadline; ) {
      swept = await sweep((seq) => seq === held);
      if (swept === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(swept).toBe(1);
    expect((await deadLetters(ns)).map((d) => [d.code, d.originalMsgId])).toEqual([['MAX_DELIVERIES', 'given-up']]);
    // The held one is still stored, not dead-lettered; a second sweep finds nothing more.
    expect(await sweep((seq) => seq === held)).toBe(0);
    expect((await ns.jsm.streams.info(ns.names.streams.commands)).state.messages).toBe(1);
  }, 30_000);

  it('goes on past a command it cannot dead-letter, to the given-up ones after it', async () => {
    await ns.jsm.streams.purge(ns.names.streams.commands);
    const logger = createLogger({ service: 'test', version: '0', level: 'silent' });
    const written = createDeadLetterer({ publisher, names: ns.names, metrics: schedulerMetrics(createMetrics({ service: 'test', version: '0', defaultMetrics: false }).registry), logger });
    const subject = ns.names.subjects.command('cancel');
    const js = jetstream(ns.nc);
    const stuck = await js.publish(subject, JSON.stringify({ v: 1, kind: 'cancel', id: randomUUID(), workspaceId: randomUUID(), jobId: randomUUID() }), { msgID: 'stuck' });
    await js.publish(subject, JSON.stringify({ v: 1, kind: 'cancel', id: randomUUID(), workspaceId: randomUUID(), jobId: randomUUID() }), { msgID: 'next' });
    // The dead-letter stream refuses the first one, every time.
    const deadLetter: typeof written = (source, code, reason) =>
      source.streamSequence === stuck.seq ? Promise.reject(new Error('refused')) : written(source, code, reason);
    const consumer = await js.consumers.get(ns.names.streams.commands, ns.names.consumers.scheduler);
    for (let naks = 0; naks < 4; ) {
      const batch = await consumer.fetch({ max_messages: 2, expires: 1_000 });
      for await (const m of batch) {
        m.nak();
        naks += 1;
      }
    }
    // A pull waiting, as the scheduler's always is: the server gives up a command on its way to
    // delivering it again.
    for await (const m of await consumer.fetch({ max_messages: 1, expires: 1_000 })) m.nak();
    const before = (await deadLetters(ns)).length;
    let swept = 0;
    for (const deadline = Date.now() + 10_000; swept === 0 && Date.now() < deadline; ) {
      swept = await sweepGivenUp({ jsm: ns.jsm, names: ns.names, deadLetter, logger, isHeld: () => false, minAgeMs: 0 });
      if (swept === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(swept).toBe(1);
    expect((await deadLetters(ns)).slice(before).map((d) => d.originalMsgId)).toEqual(['next']);
    // The one it could not dead-letter stays stored, for the next sweep.
    expect(await ns.jsm.streams.getMessage(ns.names.streams.commands, { seq: stuck.seq })).toMatchObject({ seq: stuck.seq });
  }, 30_000);
});
