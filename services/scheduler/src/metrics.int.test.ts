import { randomUUID } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { createJobs, createWorkspace } from '@gantry/testkit';
import { useScheduler } from './testing/use-scheduler.js';
import { FakeWorker, publishCommand, waitFor } from './testing/harness.js';

const h = useScheduler();
let ws: string;

beforeAll(async () => {
  ws = await createWorkspace(h.pool);
});

/** The samples of metric `name` (a histogram's `_sum`/`_count` too), as `{metricName, labels, value}`. */
async function samples(name: string): Promise<{ value: number; labels: Record<string, string | number | undefined>; metricName?: string }[]> {
  const metric = h.metrics.registry.getSingleMetric(name);
  return metric ? (await metric.get()).values : [];
}

async function sampleValue(name: string, metricName = name, labels: Record<string, string> = {}): Promise<number | undefined> {
  const found = (await samples(name)).find(
    (v) => (v.metricName ?? name) === metricName && Object.entries(labels).every(([k, x]) => v.labels[k] === x),
  );
  return found?.value;
}

describe('the scheduler’s metrics', () => {
  it('measure a delayed job’s queue wait from when it became runnable, not from when it was queued', async () => {
    const [delayed] = await createJobs(h.pool, ws, 1);
    // Queued an hour ago to run a second ago: it has been waiting for a worker for about a second.
    await h.pool.query(`UPDATE runner_jobs SET queued_at = now() - interval '1 hour', run_at = now() - interval '1 second' WHERE id = $1`, [delayed!.id]);
    const wait = MetricNames.queueWait;
    const countBefore = (await sampleValue(wait, `${wait}_count`, { pool: 'default' })) ?? 0;
    const sumBefore = (await sampleValue(wait, `${wait}_sum`, { pool: 'default' })) ?? 0;
    const worker = new FakeWorker(h.ns, h.pool, 1);
    worker.start();
    try {
      await waitFor(() => worker.dispatches.some((d) => d.jobId === delayed!.id), 10_000, 'the dispatch');
      await waitFor(async () => ((await sampleValue(wait, `${wait}_count`, { pool: 'default' })) ?? 0) > countBefore, 10_000, 'the observation');
    } finally {
      await worker.stop();
    }
    expect(await sampleValue(wait, `${wait}_count`, { pool: 'default' })).toBe(countBefore + 1);
    const observed = (await sampleValue(wait, `${wait}_sum`, { pool: 'default' }))! - sumBefore;
    expect(observed).toBeGreaterThanOrEqual(1);
    expect(observed).toBeLessThan(600);
  });

  it('count the jobs of each pool RUNNING past their deadline', async () => {
    const [overdue, onTime] = await createJobs(h.pool, ws, 2);
    // A live worker (no free slots) holds both, so the lost-worker duty leaves them alone.
    const holder = new FakeWorker(h.ns, h.pool, 0);
    holder.start();
    const pastDeadline = () => sampleValue(MetricNames.jobsPastDeadline, MetricNames.jobsPastDeadline, { pool: 'deadline-pool' });
    try {
      await h.pool.query(
        `UPDATE runner_jobs SET status = 'RUNNING', pool = 'deadline-pool', worker_id = $3, started_at = now(), dispatched_at = now(),
           deadline_at = CASE WHEN id = $1 THEN now() - interval '1 second' ELSE now() + interval '1 hour' END
         WHERE id = ANY($2::uuid[])`,
        [overdue!.id, [overdue!.id, onTime!.id], holder.workerId],
      );
      await waitFor(async () => (await pastDeadline()) === 1, 10_000, 'the gauge');
      // Its deadline lifted, the job no longer counts: the pool's gauge falls to 0 rather than vanishing.
      await h.pool.query(`UPDATE runner_jobs SET deadline_at = NULL WHERE id = $1`, [overdue!.id]);
      await waitFor(async () => (await pastDeadline()) === 0, 10_000, 'the gauge at 0');
    } finally {
      await h.pool.query(`UPDATE runner_jobs SET status = 'CANCELLED', completed_at = now(), worker_id = NULL WHERE id = ANY($1::uuid[])`, [[overdue!.id, onTime!.id]]);
      await holder.stop();
    }
  });

  it('record the group commits of the scheduler’s JobWriter', async () => {
    const before = (await sampleValue(MetricNames.eventsWritten)) ?? 0;
    const [pending] = await createJobs(h.pool, ws, 1, { status: 'PENDING' });
    await publishCommand(h.ns, 'submit', { v: 1, kind: 'submit', id: randomUUID(), workspaceId: ws, jobId: pending!.id, job: { type: 'metrics', steps: [{ name: 'only', phase: 'EXECUTION', type: 'NOOP' }] } });
    await waitFor(async () => ((await sampleValue(MetricNames.eventsWritten)) ?? 0) > before, 10_000, 'events written');
    expect(await sampleValue(MetricNames.writeBatchSize, `${MetricNames.writeBatchSize}_count`)).toBeGreaterThan(0);
    expect(await sampleValue(MetricNames.writeFlushDuration, `${MetricNames.writeFlushDuration}_count`)).toBeGreaterThan(0);
    expect(await sampleValue(MetricNames.writeErrors)).toBe(0);
  });

  it('clear the gauges only the leader sets when this replica stops leading', async () => {
    await createJobs(h.pool, ws, 1);
    const leaderOnly = [MetricNames.queueDepth, MetricNames.queueOldestAge, MetricNames.workerSlots];
    const worker = new FakeWorker(h.ns, h.pool, 0);
    worker.start();
    try {
      await waitFor(async () => {
        for (const name of leaderOnly) if ((await samples(name)).length === 0) return false;
        return true;
      }, 10_000, 'the leader’s gauges');
      // Another replica takes the lease: this one fails to renew and steps down.
      await h.pool.query(`UPDATE scheduler_leases SET holder = 'usurper', term = term + 1, expires_at = now() + interval '1 hour'`);
      await waitFor(async () => (await sampleValue(MetricNames.schedulerLeader)) === 0, 10_000, 'stepping down');
    } finally {
      await worker.stop();
    }
    for (const name of [...leaderOnly, MetricNames.jobsPastDeadline]) expect(await samples(name), name).toEqual([]);
    expect(h.scheduler.leadership.lease).toBeNull();
  });
});
