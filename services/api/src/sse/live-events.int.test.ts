import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jetstream } from '@nats-io/jetstream';
import type { JobEvent } from '@gantry/contracts';
import { createTestNamespace, type TestNamespace } from '@gantry/testkit';
import { testLogger } from '../testing/harness.js';
import { LIVE_BUFFER_EVENTS, openLiveEvents, type LiveEvents } from './live-events.js';

let ns: TestNamespace;

beforeAll(async () => {
  ns = await createTestNamespace({ provision: true });
});
afterAll(async () => {
  await ns?.cleanup();
});

const workspaceId = randomUUID();

function progressEvent(jobId: string, sequence: number): JobEvent {
  return {
    v: 1,
    id: randomUUID(),
    jobId,
    workspaceId,
    sequence,
    type: 'job.progress',
    actor: 'worker:w1',
    attempt: 1,
    stepId: null,
    payload: { progress: 1, completedSteps: 0, totalSteps: 1 },
    at: new Date().toISOString(),
  };
}

/** Takes events until one with sequence `last` arrives. */
async function takeThrough(live: LiveEvents, last: number): Promise<number[]> {
  const seen: number[] = [];
  while (seen.at(-1) !== last) {
    await live.changed();
    expect(live.ended).toBe(false);
    seen.push(...live.take().map((e) => e.sequence));
  }
  return seen;
}

describe('openLiveEvents', () => {
  it('holds at most a page of events not taken, dropping the oldest', async () => {
    const jobId = randomUUID();
    const live = await openLiveEvents({ js: jetstream(ns.nc), names: ns.names, workspaceId, jobId, logger: testLogger() });
    try {
      const subject = ns.names.subjects.events(workspaceId, jobId);
      const publish = (sequence: number) => ns.nc.publish(subject, JSON.stringify({ v: 1, jobId, workspaceId, events: [progressEvent(jobId, sequence)] }));
      const beyond = LIVE_BUFFER_EVENTS + 10;
      for (let sequence = 1; sequence <= beyond; sequence++) publish(sequence);
      await ns.nc.flush();
      while (live.dropped === 0) await live.changed().then(() => new Promise((r) => setTimeout(r, 10)));
      // The events still held are the newest, in order: the stream reads the dropped ones from PostgreSQL.
      publish(beyond + 1);
      const held = await takeThrough(live, beyond + 1);
      expect(live.dropped).toBe(LIVE_BUFFER_EVENTS);
      expect(held).toEqual(Array.from({ length: 11 }, (_, i) => LIVE_BUFFER_EVENTS + 1 + i));
    } finally {
      await live.close();
    }
  });
});
