import { register as globalRegistry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { counterOn, createMetrics, gaugeOn } from './metrics.js';

describe('createMetrics', () => {
  it('exposes gantry_service_info and the default process metrics on its own registry', async () => {
    const metrics = createMetrics({ service: 'scheduler', version: '2.0.0' });
    const text = await metrics.render();
    expect(text).toContain(`${MetricNames.serviceInfo}{service="scheduler",version="2.0.0"} 1`);
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(text).toContain('nodejs_eventloop_lag_seconds');
    expect(metrics.contentType).toMatch(/^text\/plain/);
    expect(await globalRegistry.metrics()).not.toContain(MetricNames.serviceInfo);
  });

  it('gives each call a separate registry', async () => {
    const a = createMetrics({ service: 'a', version: '1', defaultMetrics: false });
    const b = createMetrics({ service: 'b', version: '1', defaultMetrics: false });
    expect(await a.render()).not.toContain('service="b"');
    expect(await b.render()).not.toContain('process_cpu');
  });
});

describe('counterOn', () => {
  it('creates a metric once and returns the same one afterwards', async () => {
    const { registry } = createMetrics({ service: 'a', version: '1', defaultMetrics: false });
    const config = { name: MetricNames.natsPublishes, help: 'h', labelNames: ['stream'] as const };
    const first = counterOn(registry, { ...config, labelNames: [...config.labelNames] });
    const second = counterOn(registry, { ...config, labelNames: [...config.labelNames] });
    expect(second).toBe(first);
    first.inc({ stream: 'S' }, 2);
    second.inc({ stream: 'S' });
    expect(await registry.metrics()).toContain(`${MetricNames.natsPublishes}{stream="S"} 3`);
  });

  it('refuses a name already registered as another kind', () => {
    const { registry } = createMetrics({ service: 'a', version: '1', defaultMetrics: false });
    gaugeOn(registry, { name: MetricNames.queueDepth, help: 'h' });
    expect(() => counterOn(registry, { name: MetricNames.queueDepth, help: 'h' })).toThrow(/another kind/);
  });
});
