import { randomUUID } from 'node:crypto';
import { jetstream } from '@nats-io/jetstream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBatch, type JobEvent } from '@gantry/contracts';
import { createTestNamespace, type TestNamespace } from '../../testkit/src/nats.js';
import { createEventFanout } from './event-fanout.js';
import { createLogger } from './logger.js';

let ns: TestNamespace;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
});
afterAll(async () => {
  await ns.cleanup();
});

function progress(workspaceId: string, jobId: string, sequence: number, chunk = ''): JobEvent {
  return {
    v: 1,
    id: randomUUID(),
    jobId,
    workspaceId,
    stepId: null,
    sequence,
    attempt: 1,
    actor: 'test',
    at: new Date().toISOString(),
    type: 'step.output',
    payload: { stream: 'stdout', offset: 0, chunk },
  };
}

describe('createEventFanout', () => {
  it('publishes one message per job per commit, in sequence order, without headers, and splits one that would be too large', async () => {
    const workspaceId = randomUUID();
    const [a, b] = [randomUUID(), randomUUID()];
    const fanOut = createEventFanout({ nc: ns.nc, names: ns.names, logger: createLogger({ service: 'test', version: '0', level: 'silent' }) });
    const big = 'x'.repeat(16 * 1024);
    fanOut([
      { events: [progress(workspaceId, a, 1), progress(workspaceId, a, 2)] },
      { events: [progress(workspaceId, b, 1)] },
      { events: [progress(workspaceId, a, 3)] },
    ]);
    fanOut([{ events: Array.from({ length: 80 }, (_, i) => progress(workspaceId, b, i + 2, big)) }]);
    await ns.nc.flush();

    const consumer = await jetstream(ns.nc).consumers.get(ns.names.streams.events); // ordered consumer
    const batches: EventBatch[] = [];
    const withHeaders: string[] = [];
    const messages = await consumer.fetch({ max_messages: 10, expires: 2_000 });
    for await (const m of messages) {
      batches.push(EventBatch.parse(m.json()) as EventBatch);
      // No Nats-Msg-Id, nor any other header: a commit's events are published once.
      if (m.headers !== undefined) withHeaders.push(m.subject);
      if (batches.length === 4) break;
    }
    await consumer.delete();
    expect(withHeaders).toEqual([]);
    const summary = batches.map((bt) => [bt.jobId, bt.events.map((e) => e.sequence)]);
    expect(summary[0]).toEqual([a, [1, 2, 3]]);
    expect(summary[1]).toEqual([b, [1]]);
    // 80 × 16 KiB does not fit one message: the job's events arrive in two, still in order.
    expect(summary.slice(2).flatMap(([, seqs]) => seqs as number[])).toEqual(Array.from({ length: 80 }, (_, i) => i + 2));
    expect(summary.slice(2).every(([job]) => job === b)).toBe(true);
  });
});
