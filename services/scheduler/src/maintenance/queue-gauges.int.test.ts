/**
 * The queue gauges' age of the oldest dispatchable job. A job whose runAt (a delay, or a retry's
 * backoff) lies in the future is not dispatchable (the claim skips it), and its age counts from
 * when it becomes runnable: a job delayed by an hour is not an hour-old backlog. Nor is it in the
 * depth (which autoscaling reads): it is counted as delayed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { createMetrics } from '@gantry/runtime';
import { createPool, type Pool } from '@gantry/store';
import { createJobs, createWorkspace, jobSpec, useTestDatabase } from '@gantry/testkit';
import { schedulerMetrics } from '../metrics.js';
import { observeQueueOnce } from './queue-gauges.js';

const db = useTestDatabase();
let pool: Pool;

beforeAll(async () => {
  pool = createPool(db.url, { max: 2, applicationName: 'queue-gauges' });
});
afterAll(async () => {
  await pool.end();
});

describe('observeQueueOnce', () => {
  it('reports no oldest-dispatchable age for a pool whose only queued job is delayed an hour', async () => {
    const ws = await createWorkspace(pool);
    const runAt = new Date(Date.now() + 3_600_000).toISOString();
    const [job] = await createJobs(pool, ws, 1, { spec: jobSpec({ pool: 'delayed-only', runAt }) });
    // Queued ten minutes ago to run an hour from now: nothing in the pool can be dispatched.
    await pool.query(`UPDATE runner_jobs SET queued_at = now() - interval '10 minutes' WHERE id = $1`, [job!.id]);

    const metrics = createMetrics({ service: 'scheduler', version: '0' });
    await observeQueueOnce({ pool, metrics: schedulerMetrics(metrics.registry) });
    const values = (await metrics.registry.getSingleMetric(MetricNames.queueOldestAge)!.get()).values;
    const age = values.find((v) => v.labels.pool === 'delayed-only')?.value ?? 0;
    expect(age).toBeLessThan(1);
    // Nor is it in the depth autoscaling reads: it counts as delayed.
    const depth = (await metrics.registry.getSingleMetric(MetricNames.queueDepth)!.get()).values.filter((v) => v.labels.pool === 'delayed-only');
    expect(depth).toEqual([]);
    const waiting = (await metrics.registry.getSingleMetric(MetricNames.queueDelayed)!.get()).values.filter((v) => v.labels.pool === 'delayed-only');
    expect(waiting.map((v) => v.value)).toEqual([1]);
  });

  it('counts a delayed job’s age from its runAt once that passed, and a ready job’s from its queueing', async () => {
    const ws = await createWorkspace(pool);
    const [delayed] = await createJobs(pool, ws, 1, { spec: jobSpec({ pool: 'delayed-due', priority: 60 }) });
    const [ready] = await createJobs(pool, ws, 1, { spec: jobSpec({ pool: 'delayed-due', priority: 40 }) });
    // Queued ten minutes ago, due five minutes ago: runnable for 300 s.
    await pool.query(`UPDATE runner_jobs SET queued_at = now() - interval '10 minutes', run_at = now() - interval '5 minutes' WHERE id = $1`, [delayed!.id]);
    // Queued two minutes ago with no delay: 120 s.
    await pool.query(`UPDATE runner_jobs SET queued_at = now() - interval '2 minutes' WHERE id = $1`, [ready!.id]);

    const metrics = createMetrics({ service: 'scheduler', version: '0' });
    await observeQueueOnce({ pool, metrics: schedulerMetrics(metrics.registry) });
    const values = (await metrics.registry.getSingleMetric(MetricNames.queueOldestAge)!.get()).values;
    const age = values.find((v) => v.labels.pool === 'delayed-due')!.value;
    expect(age).toBeGreaterThan(299);
    expect(age).toBeLessThan(310);
    const depth = (await metrics.registry.getSingleMetric(MetricNames.queueDepth)!.get()).values.filter((v) => v.labels.pool === 'delayed-due');
    expect(depth.map((v) => v.value)).toEqual([1, 1]);
  });
});
