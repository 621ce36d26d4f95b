/**
 * The api's metrics, on the service's registry. Names and labels come from the contracts.
 *
 * - `gantry_http_request_duration_seconds{route,method,status_class}`: `route` is the route
 *   template (`/runner-jobs/:id`), never a concrete path; unmatched paths share one value.
 * - `gantry_jobs_submitted_total{type,priority}`: jobs created by submits (replays excluded).
 *   Job types are chosen by clients, so at most {@link MAX_TYPE_LABELS} distinct types get their
 *   own series; the rest count under `other`.
 * - `gantry_sse_clients`: event streams open now.
 */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MetricLabels, MetricNames } from '@gantry/contracts';
import { boundedLabel, counterOn, gaugeOn, histogramOn, OTHER_LABEL } from '@gantry/runtime';

/** Distinct job types with their own series in the submitted counter. */
export const MAX_TYPE_LABELS = 200;
/** The `type` label of job types beyond {@link MAX_TYPE_LABELS}. */
export const OTHER_TYPE = OTHER_LABEL;
/** The `route` label of requests that matched no route. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Request duration buckets, seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The api's own metrics. */
export interface ApiMetrics {
  /** Records one finished request. */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** Counts `count` created jobs of `type` at `priority`. */
  countSubmitted(type: string, priority: number, count?: number): void;
  readonly sseClients: Gauge<string>;
}

/** Registers the api's metrics on `registry`. */
export function createApiMetrics(registry: Registry): ApiMetrics {
  const duration: Histogram<string> = histogramOn(registry, {
    name: MetricNames.httpRequestDuration,
    help: 'HTTP request duration in seconds, by route template, method and status class (event streams excluded).',
    labelNames: [MetricLabels.route, MetricLabels.method, MetricLabels.statusClass],
    buckets: DURATION_BUCKETS,
  });
  const submitted: Counter<string> = counterOn(registry, {
    name: MetricNames.jobsSubmitted,
    help: `Jobs created through the API, by type (at most ${MAX_TYPE_LABELS} types, then "${OTHER_TYPE}") and priority.`,
    labelNames: [MetricLabels.type, MetricLabels.priority],
  });
  const sseClients = gaugeOn(registry, {
    name: MetricNames.sseClients,
    help: 'Server-sent event streams open now.',
  });
  const typeLabel = boundedLabel(MAX_TYPE_LABELS);
  return {
    observeRequest(route, method, status, seconds) {
      duration.observe(
        { [MetricLabels.route]: route, [MetricLabels.method]: method, [MetricLabels.statusClass]: `${Math.floor(status / 100)}xx` },
        seconds,
      );
    },
    countSubmitted(type, priority, count = 1) {
      submitted.inc({ [MetricLabels.type]: typeLabel(type), [MetricLabels.priority]: String(priority) }, count);
    },
    sseClients,
  };
}
