import { describe, expect, it } from 'vitest';
import { MetricNames } from '@gantry/contracts';
import { createMetrics } from './metrics.js';
import { writeFlushRecorder } from './write-metrics.js';

describe('writeFlushRecorder', () => {
  it('counts the events of committed flushes, the failed ones apart, and times and sizes each', async () => {
    const metrics = createMetrics({ service: 'api', version: '1', defaultMetrics: false });
    const record = writeFlushRecorder(metrics.registry);
    record({ writes: 3, events: 7, durationMs: 4, ok: true });
    record({ writes: 2, events: 0, durationMs: 1, ok: false });
    // A second recorder on the same registry shares the metrics.
    writeFlushRecorder(metrics.registry)({ writes: 1, events: 1, durationMs: 2, ok: true });
    const text = await metrics.render();
    expect(text).toMatch(new RegExp(`^${MetricNames.eventsWritten} 8$`, 'm'));
    expect(text).toMatch(new RegExp(`^${MetricNames.writeErrors} 1$`, 'm'));
    expect(text).toMatch(new RegExp(`^${MetricNames.writeBatchSize}_sum 6$`, 'm'));
    expect(text).toMatch(new RegExp(`^${MetricNames.writeFlushDuration}_count 3$`, 'm'));
    expect(text).toMatch(new RegExp(`^${MetricNames.writeFlushDuration}_sum 0\\.007$`, 'm'));
  });
});
