import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { createApiMetrics, MAX_TYPE_LABELS, OTHER_TYPE } from './metrics.js';

describe('createApiMetrics', () => {
  it('gives at most MAX_TYPE_LABELS job types their own series, then counts the rest as other', async () => {
    const registry = new Registry();
    const metrics = createApiMetrics(registry);
    for (let i = 0; i < MAX_TYPE_LABELS + 5; i++) metrics.countSubmitted(`type-${i}`, 50);
    metrics.countSubmitted('type-0', 50, 2);
    const { values } = await registry.getSingleMetric(MetricNames.jobsSubmitted)!.get();
    expect(values).toHaveLength(MAX_TYPE_LABELS + 1);
    expect(values.find((v) => v.labels.type === OTHER_TYPE)?.value).toBe(5);
    expect(values.find((v) => v.labels.type === 'type-0')?.value).toBe(3);
  });

  it('labels request durations by status class', async () => {
    const registry = new Registry();
    createApiMetrics(registry).observeRequest('/runner-jobs/:id', 'GET', 404, 0.01);
    const text = await registry.metrics();
    expect(text).toMatch(/gantry_http_request_duration_seconds_count\{route="\/runner-jobs\/:id",method="GET",status_class="4xx"\} 1/);
  });
});
