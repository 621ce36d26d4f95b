/**
 * The api's metrics, on the service's registry. Names and labels come from the contracts.
 *
 * - `gantry_http_request_duration_seconds{route,method,status_class}`: `route` is the route
 *   template (`/runner-jobs/:id`), never a concrete path; unmatched paths share one value.
 * - `gantry_jobs_submitted_total{priority}`: jobs created by submits (replays excluded). Not by
 *   job type: the API's port serves `/metrics` to anyone, and a type is a client's free text
 *   (a project's, a customer's name) that other workspaces must not read. The workers count
 *   attempts by type on their own, internal metrics port.
 * - `gantry_sse_clients`: event streams open now.
 */
import type { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { MetricLabels, MetricNames } from '@gantry/contracts';
import { counterOn, gaugeOn, histogramOn } from '@gantry/runtime';

/** The `route` label of requests that matched no route. */
export const UNMATCHED_ROUTE = 'unmatched';

/** Request duration buckets, seconds. */
const DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** The api's own metrics. */
export interface ApiMetrics {
  /** Records one finished request. */
  observeRequest(route: string, method: string, status: number, seconds: number): void;
  /** Counts `count` created jobs at `priority`. */
  countSubmitted(priority: number, count?: number): void;
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
    help: 'Jobs created through the API, by priority.',
    labelNames: [MetricLabels.priority],
  });
  const sseClients = gaugeOn(registry, {
    name: MetricNames.sseClients,
    help: 'Server-sent event streams open now.',
  });
  return {
    observeRequest(route, method, status, seconds) {
      duration.observe(
        { [MetricLabels.route]: route, [MetricLabels.method]: method, [MetricLabels.statusClass]: `${Math.floor(status / 100)}xx` },
        seconds,
      );
    },
    countSubmitted(priority, count = 1) {
      submitted.inc({ [MetricLabels.priority]: String(priority) }, count);
    },
    sseClients,
  };
}
