/**
 * The queue wait (gantry_queue_wait_seconds, the SLI of the queue-wait SLO) ends at a dispatch.
 * A job whose dispatch publish failed is un-marked and waits on: it was observed once per failed
 * round, and again when it was finally dispatched, so NATS trouble diluted the SLO's burn rate.
 * This file deletes its namespace's dispatch stream: it has a file of its own.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { createJobs, createWorkspace, jobSpec } from '@gantry/testkit';
import { useScheduler } from '../testing/use-scheduler.js';
import { FakeWorker, waitFor } from '../testing/harness.js';

const h = useScheduler();
let ws: string;

beforeAll(async () => {
  ws = await createWorkspace(h.pool);
});

async function value(name: string, metricName: string, labels: Record<string, string>): Promise<number> {
  const metric = h.metrics.registry.getSingleMetric(name);
  const values = metric ? (await metric.get()).values : [];
  return values.find((v) => ((v as { metricName?: string }).metricName ?? name) === metricName && Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
}

describe('the queue wait', () => {
  it('is not observed for jobs whose dispatch publish failed (they were not dispatched)', async () => {
    const pool = 'failed-publish';
    // The dispatch stream is gone (lost, or NATS refuses it): every dispatch publish fails.
    await h.ns.jsm.streams.delete(h.ns.names.streams.dispatch);
    const worker = new FakeWorker(h.ns, h.pool, 1, { pool });
    worker.beat();
    const beats = setInterval(() => worker.beat(), 200);
    try {
      const [job] = await createJobs(h.pool, ws, 1, { spec: jobSpec({ pool }) });
      await waitFor(async () => (await value(MetricNames.dispatches, MetricNames.dispatches, { pool, outcome: 'failed' })) >= 2, 20_000, 'failed dispatch publishes');
      const row = (await h.pool.query<{ status: string; dispatched_at: Date | null }>('SELECT status, dispatched_at FROM runner_jobs WHERE id = $1', [job!.id])).rows[0]!;
      expect(row.status).toBe('QUEUED');
      expect(await value(MetricNames.dispatches, MetricNames.dispatches, { pool, outcome: 'published' })).toBe(0);
      const waits = await value(MetricNames.queueWait, `${MetricNames.queueWait}_count`, { pool });
      expect(waits, 'queue-wait observations for a job that was never dispatched').toBe(0);
    } finally {
      clearInterval(beats);
    }
  }, 60_000);
});
