import { describe, expect, it } from 'vitest';
import type { PubAck } from '@nats-io/jetstream';
import type { Publisher } from '@gantry/runtime';
import { BacklogFullError, createAnnouncer } from './announcer.js';

/** A stand-in publisher whose publishes the test settles by hand (the lane's logic only). */
function manualPublisher() {
  const pending: { subject: string; resolve: (ack: PubAck) => void; reject: (err: Error) => void }[] = [];
  const publisher = {
    publish: (subject: string) =>
      new Promise<PubAck>((resolve, reject) => pending.push({ subject, resolve, reject })),
  } as unknown as Publisher;
  const ack = (n: number) => {
    for (const p of pending.splice(0, n)) p.resolve({ stream: 'S', seq: 1, duplicate: false } as PubAck);
  };
  return { publisher, pending, ack };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));
const messages = (n: number) => Array.from({ length: n }, (_, i) => ({ subject: `s.${i}`, data: 'x' }));

describe('createAnnouncer', () => {
  it('keeps at most `window` publishes in flight and sends the rest in order as acks come back', async () => {
    const { publisher, pending, ack } = manualPublisher();
    const lane = createAnnouncer({ publisher, window: 3, maxQueued: 100 });
    const done = lane.publishAll(messages(7));
    expect(pending.map((p) => p.subject)).toEqual(['s.0', 's.1', 's.2']);
    expect(lane.queued).toBe(4);
    ack(2);
    await tick();
    await tick();
    expect(pending.map((p) => p.subject)).toEqual(['s.2', 's.3', 's.4']);
    for (let i = 0; i < 5; i++) {
      ack(3);
      await tick();
      await tick();
    }
    const results = await done;
    expect(results.map((r) => r.status)).toEqual(Array(7).fill('fulfilled'));
    await lane.idle(1_000);
  });

  it('reports each failure in place and goes on', async () => {
    const { publisher, pending } = manualPublisher();
    const lane = createAnnouncer({ publisher, window: 10, maxQueued: 100 });
    const done = lane.publishAll(messages(2));
    pending[0]!.reject(new Error('timeout'));
    pending[1]!.resolve({ stream: 'S', seq: 2, duplicate: false } as PubAck);
    expect((await done).map((r) => r.status)).toEqual(['rejected', 'fulfilled']);
  });

  it('refuses messages beyond its backlog at once', async () => {
    const { publisher } = manualPublisher();
    const lane = createAnnouncer({ publisher, window: 1, maxQueued: 5 });
    void lane.publishAll(messages(5));
    const refused = await lane.publishAll(messages(2));
    expect(refused.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(BacklogFullError);
  });

  it('gives up waiting for idle after the timeout', async () => {
    const { publisher } = manualPublisher();
    const lane = createAnnouncer({ publisher, window: 1, maxQueued: 5 });
    void lane.publishAll(messages(1));
    const started = performance.now();
    await lane.idle(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
  });
});
