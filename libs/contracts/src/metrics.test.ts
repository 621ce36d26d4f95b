import { describe, expect, it } from 'vitest';
import { METRIC_PREFIX, MetricLabels, MetricNames } from './metrics.js';

const metricNames = Object.values(MetricNames);
const labels = Object.values(MetricLabels);

describe('metric names', () => {
  it('are unique, prefixed and in snake case', () => {
    expect(new Set(metricNames).size).toBe(metricNames.length);
    for (const name of metricNames) {
      expect(name.startsWith(METRIC_PREFIX)).toBe(true);
      expect(name).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
    }
  });

  it('use base units: durations and ages in seconds, never milliseconds', () => {
    for (const name of metricNames) {
      if (/duration|_age|_wait/.test(name)) expect(name, name).toMatch(/_seconds$/);
      expect(name).not.toMatch(/_(ms|milliseconds|minutes|kb|mb)(_|$)/);
    }
  });

  it('reserve _total for counters and never use a summary-style suffix', () => {
    for (const name of metricNames) expect(name).not.toMatch(/_(count|sum|bucket)$/);
    expect(MetricNames.jobsSubmitted).toBe('gantry_jobs_submitted_total');
    expect(MetricNames.queueDepth).toBe('gantry_queue_depth');
  });
});

describe('metric labels', () => {
  it('are unique and in snake case', () => {
    expect(new Set(labels).size).toBe(labels.length);
    for (const label of labels) expect(label).toMatch(/^[a-z][a-z0-9]*(_[a-z0-9]+)*$/);
  });

  it('never carry a job, step, workspace or worker id', () => {
    for (const label of labels) expect(label).not.toMatch(/(^|_)(job|step|workspace|worker|request|event)(_id)?$|_id$|^id$/);
  });
});
