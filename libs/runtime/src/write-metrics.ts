/**
 * The metrics of a group-committing job writer (`JobWriter` of `@gantry/store`), the same in
 * every service that writes jobs: events committed, writes per commit, seconds per commit and
 * failed commits. Services are told apart by the scrape target (`job`, `pod`), not by a label.
 */
import type { Registry } from 'prom-client';
import { MetricNames as M } from '@gantry/contracts';
import { counterOn, histogramOn } from './metrics.js';

/** What one flush of a job writer did; `JobWriter`'s `FlushReport` has this shape. */
export interface FlushCounts {
  /** Job writes in the flush. */
  readonly writes: number;
  /** Job events the flush committed. */
  readonly events: number;
  /** Milliseconds from the start of the flush to its commit (or failure). */
  readonly durationMs: number;
  /** False when the flush failed. */
  readonly ok: boolean;
}

/** Registers the job-writer metrics on `registry` (once) and returns the `onFlush` that records them. */
export function writeFlushRecorder(registry: Registry): (report: FlushCounts) => void {
  const events = counterOn(registry, { name: M.eventsWritten, help: 'Job events committed by this process.' });
  const batch = histogramOn(registry, { name: M.writeBatchSize, help: 'Job writes per group commit.', buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500] });
  const seconds = histogramOn(registry, {
    name: M.writeFlushDuration,
    help: 'Seconds per group commit of job writes.',
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1],
  });
  const errors = counterOn(registry, { name: M.writeErrors, help: 'Group commits of job writes that failed.' });
  return (report) => {
    batch.observe(report.writes);
    seconds.observe(report.durationMs / 1000);
    if (report.ok) events.inc(report.events);
    else errors.inc();
  };
}
