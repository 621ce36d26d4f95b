/**
 * A NATS reconnect while a pull still waits for part of its batch. The client's fetch re-pulls
 * its whole `max_messages` on reconnect (it forgets what it already received), so the pull
 * yielded more messages than the slots the consumer reserved for it: the worker ran more jobs
 * than its concurrency, and the negative give-back of the reservation then held a slot for good.
 * A pull now takes no more than it reserved.
 */
import type { NatsConnection } from '@nats-io/transport-node';
import { describe, expect, it, vi } from 'vitest';
import { dispatchConsumer } from '@gantry/contracts';
import { connectNats, createLogger, createMetrics, loadConfig } from '@gantry/runtime';
import { blockingStep } from '../testing/blocking-step.js';
import { useWorkerHarness } from '../testing/harness.js';
import { createWorker } from '../worker.js';

const h = useWorkerHarness();
const block = blockingStep();
const logger = createLogger({ service: 'worker-test', version: '0.0.0', level: 'silent' });

function pullRequests(nc: NatsConnection) {
  const c = dispatchConsumer(h.ns.names, 'default');
  const batches: number[] = [];
  const sub = nc.subscribe(`$JS.API.CONSUMER.MSG.NEXT.${c.stream}.${c.durableName}`, {
    callback: (_e, m) => {
      batches.push(m.json<{ batch: number }>().batch);
    },
  });
  return { batches, stop: () => sub.unsubscribe() };
}

describe('the dispatch consumer across a NATS reconnect', () => {
  it('never holds more dispatches than WORKER_CONCURRENCY, and keeps all its slots afterwards', { timeout: 60_000 }, async () => {
    const wnc = await connectNats(loadConfig(), { name: 'overpull', logger, reconnectWaitMs: 50 });
    const worker = createWorker({
      settings: h.settings({ concurrency: 2, workerId: 'overpull-worker' }),
      nc: wnc, pool: h.pool, names: h.ns.names, logger,
      metrics: createMetrics({ service: 'worker', version: '0.0.0', defaultMetrics: false }),
      version: '0.0.0', stepTypes: [block.handler],
    });
    const pulls = pullRequests(h.ns.nc);
    await h.ns.nc.flush();
    let maxBusy = 0;
    const watch = setInterval(() => (maxBusy = Math.max(maxBusy, worker.slots.busy)), 5);
    const blocking = (key: string) => h.createJob({ steps: [{ name: key, phase: 'EXECUTION', type: 'BLOCK', spec: { key } }] });
    try {
      await worker.start();
      // One pull for both slots; one dispatch fills one of them, the pull waits for the other.
      const a = await blocking('a');
      await h.dispatch(a.id, 1);
      await block.started('a');
      // The worker's connection drops and comes back while that pull waits.
      const back = (async () => {
        for await (const s of wnc.status()) if (s.type === 'reconnect') return;
      })();
      await wnc.reconnect();
      await back;
      await vi.waitFor(() => expect(pulls.batches.length).toBeGreaterThanOrEqual(2), { timeout: 10_000 });
      // Three more dispatches: only one slot is free.
      const more = [await blocking('b'), await blocking('c'), await blocking('d')];
      for (const j of more) await h.dispatch(j.id, 1);
      await block.started('b');
      // Give a second one every chance to be taken (it must not be).
      const c = dispatchConsumer(h.ns.names, 'default');
      const deadline = Date.now() + 3_000;
      while (Date.now() < deadline) {
        const info = await h.ns.jsm.consumers.info(c.stream, c.durableName);
        if (info.num_ack_pending > 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      await new Promise((r) => setTimeout(r, 200));
      const held = worker.slots.busy;
      expect.soft({ maxBusy, held }, 'dispatches held at once').toEqual({ maxBusy: 2, held: 2 });
      clearInterval(watch);
      for (const key of ['a', 'b', 'c', 'd']) block.release(key);
      pulls.stop();
      // Once every job has ended, both slots take work again: two jobs run side by side.
      await vi.waitFor(() => expect(worker.slots.busy).toBe(0), { timeout: 10_000 });
      const f = [await blocking('f1'), await blocking('f2')];
      for (const j of f) await h.dispatch(j.id, 1);
      // A pull lasts PULL_EXPIRES_MS (10 s): wait longer than one, for any slot that is free.
      const both = await Promise.race([
        Promise.all([block.started('f1'), block.started('f2')]).then(() => true),
        new Promise<false>((r) => setTimeout(() => r(false), 15_000)),
      ]);
      expect(both, 'two jobs run at once on the two slots once the worker is idle').toBe(true);
    } finally {
      clearInterval(watch);
      for (const key of ['a', 'b', 'c', 'd', 'f1', 'f2']) block.release(key);
      pulls.stop();
      await worker.stop({ timeoutMs: 10_000 });
      await wnc.close();
    }
  });
});
