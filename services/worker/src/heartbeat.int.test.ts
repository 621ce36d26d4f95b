import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Heartbeat } from '@gantry/contracts';
import { createLogger } from '@gantry/runtime';
import { createTestNamespace, type TestNamespace } from '@gantry/testkit';
import type { DispatchMessage } from './dispatch/message.js';
import { createHeartbeat } from './heartbeat.js';
import { InFlight, InFlightAttempt } from './in-flight.js';
import { Slots } from './slots.js';

let ns: TestNamespace;

beforeAll(async () => {
  ns = await createTestNamespace();
});
afterAll(async () => {
  await ns?.cleanup();
});

/** A held dispatch whose in-progress acks are counted, and throw when `broken` (a connection closing under it). */
function dispatch(broken: boolean): { msg: DispatchMessage; acks: () => number } {
  let acks = 0;
  const msg = {
    working: () => {
      acks += 1;
      if (broken) throw new Error('connection closed');
    },
  } as unknown as DispatchMessage;
  return { msg, acks: () => acks };
}

/** Polls `check` every 20 ms; throws after `ms`. */
async function until(check: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the heartbeat', () => {
  it('keeps beating and acking the other dispatches when one in-progress ack cannot be sent', async () => {
    const inFlight = new InFlight();
    const broken = dispatch(true);
    const healthy = dispatch(false);
    inFlight.add(new InFlightAttempt('0195f3a0-0000-7000-8000-000000000001', 1, broken.msg));
    inFlight.add(new InFlightAttempt('0195f3a0-0000-7000-8000-000000000002', 1, healthy.msg));
    const beats: Heartbeat[] = [];
    const sub = ns.nc.subscribe(ns.names.subjects.heartbeat('hb-test'), { callback: (_e, m) => void beats.push(Heartbeat.parse(m.json())) });
    const heartbeat = createHeartbeat({
      nc: ns.nc, names: ns.names, workerId: 'hb-test', pool: 'default', version: 'test', slots: new Slots(2), inFlight,
      draining: () => false, ackWaitMs: () => 300, logger: createLogger({ service: 'test', version: '0', level: 'silent' }), intervalMs: 100,
    });
    await heartbeat.start();
    try {
      await until(() => healthy.acks() >= 3, 5_000, 'three in-progress acks of the healthy dispatch');
      const seen = beats.length;
      await until(() => beats.length >= seen + 2, 5_000, 'two more beats');
      expect(broken.acks()).toBeGreaterThanOrEqual(3);
    } finally {
      await heartbeat.stop({ timeoutMs: 5_000 });
      sub.unsubscribe();
    }
  });
});
