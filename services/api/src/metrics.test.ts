import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { createApiMetrics } from './metrics.js';

describe('createApiMetrics', () => {
  it('counts submitted jobs by priority alone: no label a client chooses', async () => {
    const registry = new Registry();
    const metrics = createApiMetrics(registry);
    metrics.countSubmitted(50);
    metrics.countSubmitted(50, 2);
    metrics.countSubmitted(90);
    const { values } = await registry.getSingleMetric(MetricNames.jobsSubmitted)!.get();
    expect(values.map((v) => [v.labels, v.value])).toEqual([
      [{ priority: '50' }, 3],
      [{ priority: '90' }, 1],
    ]);
  });

  it('labels request durations by status class', async () => {
    const registry = new Registry();
    createApiMetrics(registry).observeRequest('/runner-jobs/:id', 'GET', 404, 0.01);
    const text = await registry.metrics();
    expect(text).toMatch(/gantry_http_request_duration_seconds_count\{route="\/runner-jobs\/:id",method="GET",status_class="4xx"\} 1/);
  });
});
