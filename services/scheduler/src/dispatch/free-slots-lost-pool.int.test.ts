/**
 * `gantry_worker_slots{pool}` is "free credit as last computed". The dispatcher set it only for
 * pools that have live workers; when the last worker of a pool was lost, the pool dropped out of
 * the rounds and its gauge kept the free slots of a worker that was gone (until the leader
 * stepped down), so dashboards and autoscalers saw capacity that did not exist.
 */
import { describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { useScheduler } from '../testing/use-scheduler.js';
import { FakeWorker, ownPool, waitFor } from '../testing/harness.js';

const h = useScheduler({ workerLostMs: 1_000 });

async function gauge(name: string, pool: string): Promise<number | undefined> {
  const metric = h.metrics.registry.getSingleMetric(name);
  const values = metric ? (await metric.get()).values : [];
  return values.find((v) => v.labels.pool === pool)?.value;
}

describe('free slots of a pool whose workers are all lost', () => {
  it('are no longer reported once the last worker is lost', async () => {
    const pool = await ownPool(h.ns, 'free-slots');
    const worker = new FakeWorker(h.ns, h.pool, 3, { pool });
    worker.start();
    try {
      await waitFor(async () => (await gauge(MetricNames.workerSlots, pool)) === 3, 10_000, 'three free slots reported');
    } finally {
      await worker.stop();
    }
    // The worker is lost: the live-workers gauge of its pool says so.
    await waitFor(async () => (await gauge(MetricNames.liveWorkers, pool)) === 0, 10_000, 'the worker lost');
    // A dispatch round after that (the loop runs them every 50 ms as well).
    await h.scheduler.dispatcher.round(h.scheduler.leadership.lease!);
    expect(await gauge(MetricNames.workerSlots, pool) ?? 0).toBe(0);
  });
});
