import { describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { createMetrics } from '@gantry/runtime';
import { createWorkerMetrics, MAX_CLIENT_LABELS } from './metrics.js';

describe('worker metrics', () => {
  it('give at most MAX_CLIENT_LABELS job types, step types and models a series each, then count the rest as other', async () => {
    const metrics = createMetrics({ service: 'worker', version: '0', defaultMetrics: false });
    const worker = createWorkerMetrics(metrics, 'default', () => ({ total: 1, busy: 0, expressTotal: 0, expressBusy: 0 }));
    for (let i = 0; i < MAX_CLIENT_LABELS + 5; i++) {
      worker.attemptEnded(`type-${i}`, 'COMPLETED', 0.1);
      worker.stepEnded('EXECUTION', `step-${i}`, 'COMPLETED', 0.1);
      worker.aiTokens(`model-${i}`, 1, 1);
    }
    const finished = (await metrics.registry.getSingleMetric(MetricNames.jobsFinished)!.get()).values;
    expect(finished).toHaveLength(MAX_CLIENT_LABELS + 1);
    expect(finished.find((v) => v.labels.type === 'other')?.value).toBe(5);
    const tokens = (await metrics.registry.getSingleMetric(MetricNames.aiTokens)!.get()).values;
    expect(tokens).toHaveLength(2 * (MAX_CLIENT_LABELS + 1));
    const steps = (await metrics.registry.getSingleMetric(MetricNames.stepDuration)!.get()).values;
    expect(new Set(steps.map((v) => v.labels.step_type)).size).toBe(MAX_CLIENT_LABELS + 1);
  });
});
